// Populates parts of one target from the store and records the outcome (health, swap time,
// cache.populated, artifact.damaged when the store's copy is bad): the step both the job and the
// repair take.
import { isOciError } from '@trivy-mirror/oci';
import { describeError, errorCode } from '@trivy-mirror/plugin-api';
import type { CachePopulatorState } from './cache-state.js';
import type { CachePart, CacheTarget } from '../config-schema.js';
import { type PartResult, populateCacheDir } from '../populate/populate-cache-dir.js';
import { storeDamageOf } from '../populate/store-damage-signal.js';

export interface PopulateTargetOptions {
  force?: boolean;
  signal?: AbortSignal;
  /** Only these VEX repositories (default: every one announced). */
  vex?: string[];
}

export class TargetPopulator {
  readonly #state: CachePopulatorState;

  constructor(state: CachePopulatorState) {
    this.#state = state;
  }

  /** Populates `parts` of one target from the store; records health, emits cache.populated. */
  async populateTarget(
    target: CacheTarget,
    parts: CachePart[],
    options: PopulateTargetOptions = {},
  ): Promise<PartResult[]> {
    const state = this.#state;
    const vexInputs = state.vexInputs().filter((v) => !options.vex || options.vex.includes(v.repository));
    const result = await populateCacheDir({
      cacheDir: target.dir,
      parts,
      source: state.source,
      vex: vexInputs,
      now: () => state.now(),
      checksTag: target.checksTag,
      owner: { user: target.user, group: target.group },
      mode: target.mode,
      dirMode: target.dirMode,
      maxUnpackedBytes: state.config.maxUnpackedBytes,
      force: options.force,
      signal: options.signal,
      logger: state.log,
    });
    const at = state.now().toISOString();
    for (const p of result.parts) {
      // An empty store (first start, before the first sync) is not an error of ours.
      if (p.status === 'failed' && isNotStoredYet(p.error)) {
        p.status = 'skipped';
        p.reason = 'not in the store yet';
      }
      // The store's copy is bad: oci-sync repairs it (artifact.stored then brings us back here).
      const damage = storeDamageOf(p);
      if (damage) {
        state.deps.events.emit('artifact.damaged', damage);
        p.reason = `${p.reason}; the store's copy is damaged: oci-sync was asked to repair it`;
      }
      const h = state.partHealth(target.dir, p.key);
      h.lastResult = { status: p.status, at, version: p.version };
      if (p.status === 'failed')
        h.lastError = { code: errorCode(p.error), message: describeError(p.error), at };
      else if (p.status !== 'skipped') h.lastError = undefined;
      if (p.status === 'populated') state.markSwapped(target.dir, p.key);
      // the job found the part damaged before the watcher or the check did: that is a repair too
      if (p.status === 'populated' && p.repaired) h.lastRepair = { at, reason: p.repaired, repaired: true };
    }
    const populated = result.parts.filter((p) => p.status === 'populated').map((p) => p.key);
    if (populated.length) state.deps.events.emit('cache.populated', { dir: target.dir, parts: populated });
    return result.parts;
  }
}

function isNotStoredYet(err: unknown): boolean {
  return (
    errorCode(err) === 'ARTIFACT_MISSING' ||
    // LAYOUT_INVALID is not among them: openArtifact saw oci-layout, so index.json is damaged
    isOciError(err, 'MANIFEST_UNKNOWN', 'NAME_UNKNOWN')
  );
}

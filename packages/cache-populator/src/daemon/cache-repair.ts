// Watch and repair: which changes under a cache dir are damage, and repopulating a part from the
// store when it is no longer as we left it.
import path from 'node:path';
import type { CacheWatch, WatchChange } from '@trivy-mirror/plugin-api';
import type { CachePopulatorState } from './cache-state.js';
import type { CachePart, CacheTarget } from '../config-schema.js';
import { withKeyLock } from '@trivy-mirror/oci/mutex';
import { checkIntegrity, partOfKey, readPartState } from '../disk/part-state.js';
import type { TargetPopulator } from './target-populator.js';
import { LINK_PREFIX, STAGING_PREFIX, STATE_DIR } from '../disk/version-swap.js';

/** A version dir's name as commitVersion makes it: `<key>-<base36 time>-<8 hex>`; group 1 is the key. */
const VERSION_DIR_RE = /^(db|java-db|checks|vex-[A-Za-z0-9][A-Za-z0-9._-]*)-[0-9a-z]+-[0-9a-f]{8}$/;
/** Watch events this soon after our own swap of a part are our own. */
const SUPPRESS_MS = 1500;
const TOP_DIR_PARTS: Record<string, CachePart> = {
  db: 'db',
  'java-db': 'java-db',
  policy: 'checks',
  vex: 'vex',
};

export interface ClassifiedChange {
  target: CacheTarget;
  key: string;
  part: CachePart;
}

export class CacheRepair implements CacheWatch {
  readonly id = 'cache-populator';
  readonly debounceMs = 200;
  readonly #state: CachePopulatorState;
  readonly #populator: TargetPopulator;

  constructor(state: CachePopulatorState, populator: TargetPopulator) {
    this.#state = state;
    this.#populator = populator;
  }

  readonly paths = (): string[] => this.#state.config.targets.map((t) => t.dir);

  /**
   * Paths under a cache dir that are ours to write and never a reason to repair: staging dirs, temp
   * links, and everything in `.trivy-mirror/` except the version dirs. Those are watched at their real
   * path on purpose: chokidar loses track of the files behind a symlink that is replaced a few times
   * (`db` -> a new version), so `rm db/trivy.db` after some updates is only seen as
   * `.trivy-mirror/db-…/trivy.db`.
   */
  readonly ignored = (p: string): boolean => {
    const segs = p.split(path.sep);
    if (segs.some((seg) => seg.startsWith(STAGING_PREFIX) || seg.startsWith(LINK_PREFIX))) return true;
    const i = segs.lastIndexOf(STATE_DIR);
    if (i < 0 || i === segs.length - 1) return false;
    return !VERSION_DIR_RE.test(segs[i + 1]);
  };

  /** Which target and part a changed path belongs to ('vex-NAME' for VEX repositories). */
  classify(p: string): ClassifiedChange | undefined {
    for (const target of this.#state.config.targets) {
      const rel = path.relative(target.dir, p);
      if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
      const [first, second, third] = rel.split(path.sep);
      if (first === STATE_DIR) {
        // A version dir at its real path: its name starts with the part key.
        const key = second ? VERSION_DIR_RE.exec(second)?.[1] : undefined;
        const part = key ? partOfKey(key) : undefined;
        if (!key || !part || !target.include.includes(part)) return undefined;
        return { target, key, part };
      }
      const part: CachePart | undefined = Object.hasOwn(TOP_DIR_PARTS, first)
        ? TOP_DIR_PARTS[first]
        : undefined;
      if (!part || !target.include.includes(part)) return undefined;
      if (part !== 'vex') return { target, key: part, part };
      // vex, vex/repositories: check every repository we hold.
      return { target, key: second === 'repositories' && third ? `vex-${third}` : 'vex-*', part };
    }
    return undefined;
  }

  readonly onChange = async (changes: WatchChange[], signal: AbortSignal): Promise<void> => {
    const state = this.#state;
    const todo = new Map<string, ClassifiedChange>();
    for (const c of changes) {
      if (this.ignored(c.path)) continue;
      // Files appearing in version dirs are our own writes; removals and edits are damage.
      if ((c.event === 'add' || c.event === 'addDir') && c.path.split(path.sep).includes(STATE_DIR)) continue;
      const hit = this.classify(c.path);
      if (hit) todo.set(`${hit.target.dir}\0${hit.key}`, hit);
    }
    for (const { target, key } of todo.values()) {
      const keys = key === 'vex-*' ? [...state.vex.keys()].map((n) => `vex-${n}`) : [key];
      for (const k of keys) {
        const since = state.sinceSwapped(target.dir, k);
        if (since < SUPPRESS_MS) {
          // Most likely our own swap; look again once the window has passed.
          setTimeout(
            () => void this.repairIfBroken(target, k, state.stopping.signal),
            SUPPRESS_MS - since + 50,
          ).unref();
          continue;
        }
        await this.repairIfBroken(target, k, signal);
      }
    }
  };

  /** Repopulates a part from the store when it is no longer as we left it. Returns true if it did. */
  async repairIfBroken(target: CacheTarget, key: string, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return false;
    const lockKey = `${path.resolve(target.dir)}\0${key}`;
    const partState = await withKeyLock(lockKey, () => readPartState(target.dir, key));
    if (!partState) return false; // never populated: the job does that
    const integrity = await withKeyLock(lockKey, () => checkIntegrity(target.dir, partState));
    if (integrity.ok) return false;
    this.#state.log.warn(
      { dir: target.dir, part: key, reason: integrity.reason },
      'cache part damaged; repairing from the store',
    );
    const vex = partState.part === 'vex' ? [key.slice(4)] : undefined;
    const results = await this.#populator.populateTarget(target, [partState.part], {
      force: true,
      signal,
      vex,
    });
    const repaired = results.some((r) => r.status === 'populated');
    this.#state.partHealth(target.dir, key).lastRepair = {
      at: this.#state.now().toISOString(),
      reason: integrity.reason,
      repaired,
    };
    return repaired;
  }
}

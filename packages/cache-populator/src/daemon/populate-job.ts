// The cache populator's job: populates every target from the store (on start, on artifact.stored
// and vex.stored), then cleans up retired versions.
import {
  type Job,
  type JobContext,
  type JobOutcome,
  type MirrorEventName,
  MirrorError,
} from '@trivy-mirror/plugin-api';
import { type CachePopulatorState, JOB_ID } from './cache-state.js';
import type { PartResult } from '../populate/populate-cache-dir.js';
import type { TargetPopulator } from './target-populator.js';

export class PopulateJob implements Job {
  readonly id = JOB_ID;
  readonly description = 'Populate the Trivy cache directories from the local store';
  readonly runOnStart = true;
  readonly triggers: MirrorEventName[] = ['artifact.stored', 'vex.stored'];
  readonly partOfSync = false;
  readonly #state: CachePopulatorState;
  readonly #populator: TargetPopulator;

  constructor(state: CachePopulatorState, populator: TargetPopulator) {
    this.#state = state;
    this.#populator = populator;
  }

  readonly run = (ctx: JobContext): Promise<JobOutcome> => this.#run(ctx);

  async #run(ctx: JobContext): Promise<JobOutcome> {
    const state = this.#state;
    const all: { dir: string; result: PartResult }[] = [];
    // Events that arrive during a pass (their listener may run after the runtime started us) get a
    // follow-up pass instead of being lost to "already running". That includes the cleanup at the
    // end: it is async too, and a sync finishing meanwhile (the runner joins its trigger to this
    // run) would otherwise wait for the next event to be populated.
    for (let pass = 1; ; pass++) {
      state.dirty = false;
      for (const target of state.config.targets) {
        for (const result of await this.#populator.populateTarget(target, target.include, {
          signal: ctx.signal,
        })) {
          all.push({ dir: target.dir, result });
        }
      }
      if (!state.dirty) await state.cleanup();
      if (!state.dirty || pass >= 5) break;
    }
    const failed = all.filter((a) => a.result.status === 'failed');
    const populated = all.filter((a) => a.result.status === 'populated');
    const bytes = all.reduce((n, a) => n + a.result.bytes, 0);
    const details = {
      parts: all.map((a) => ({
        dir: a.dir,
        part: a.result.key,
        status: a.result.status,
        version: a.result.version,
        bytes: a.result.bytes,
        reason: a.result.reason,
      })),
    };
    if (failed.length) {
      throw new MirrorError(
        'POPULATE_FAILED',
        failed.map((f) => `${f.dir} ${f.result.key}: ${f.result.reason}`).join('; '),
        { cause: failed[0].result.error },
      );
    }
    if (!populated.length) return { status: 'skipped', summary: 'cache dirs up to date', bytes, details };
    return {
      status: 'success',
      summary: `populated ${populated.map((p) => `${p.dir} ${p.result.key}`).join(', ')}`,
      bytes,
      details,
    };
  }
}

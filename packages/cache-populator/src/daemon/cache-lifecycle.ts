// The cache populator's lifecycle: on start, prepares the target dirs, restores the last vex.stored
// events, listens for new artifacts and VEX versions and starts the periodic check; stop undoes that.
import { writeFileAtomic } from '@trivy-mirror/oci/fs';
import type { LifecycleContribution, VexStoredEvent } from '@trivy-mirror/plugin-api';
import type { CachePopulatorState } from './cache-state.js';
import { ensureDir, readJsonFile } from '../disk/durable-fs.js';
import type { FreshnessCheck } from './freshness-check.js';
import { partForRepository } from '../populate/part-specs.js';
import { checkTargetDirs } from './target-dirs-check.js';

export class CacheLifecycle implements LifecycleContribution {
  readonly id = 'cache-populator';
  readonly #state: CachePopulatorState;
  readonly #freshness: FreshnessCheck;
  readonly #unsubscribe: (() => void)[] = [];
  #timer?: NodeJS.Timeout;

  constructor(state: CachePopulatorState, freshness: FreshnessCheck) {
    this.#state = state;
    this.#freshness = freshness;
  }

  /** What start() needs, for `config check` and the pre-flight (target dirs can be made). */
  readonly check = () => checkTargetDirs(this.#state.config.targets);

  readonly start = async (_signal: AbortSignal): Promise<void> => {
    const state = this.#state;
    state.stopping = new AbortController();
    for (const t of state.config.targets) {
      await ensureDir(t.dir, t.dirMode);
      await state.cleanupTarget(t.dir);
    }
    const saved = await readJsonFile<VexStoredEvent[]>(state.vexFile);
    for (const e of saved ?? []) state.vex.set(e.repository, e);
    const { events } = state.deps;
    this.#unsubscribe.push(
      events.on('artifact.stored', (e) => {
        if (partForRepository(e.repository)) state.dirty = true;
      }),
      events.on('vex.stored', async (e) => {
        state.vex.set(e.repository, e);
        state.dirty = true;
        await writeFileAtomic(state.vexFile, JSON.stringify([...state.vex.values()], null, 2), 0o644).catch(
          (err: unknown) => state.log.warn({ err }, 'could not persist the last vex.stored event'),
        );
      }),
    );
    this.#timer = setInterval(() => void this.#freshness.tick(), state.config.checkIntervalSeconds * 1000);
    this.#timer.unref();
  };

  readonly stop = async (): Promise<void> => {
    this.#state.stopping.abort(new Error('stopping'));
    clearInterval(this.#timer);
    for (const u of this.#unsubscribe.splice(0)) u();
  };
}

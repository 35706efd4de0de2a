// The periodic check: repairs what is damaged, asks for a sync when a part goes stale, sets the age
// and staleness gauges, and cleans up retired versions.
import path from 'node:path';
import { CacheMetrics } from './cache-metrics.js';
import type { CachePopulatorState } from './cache-state.js';
import type { CacheRepair } from './cache-repair.js';
import { readJsonFile } from '../disk/durable-fs.js';
import { readPartState, recordedKeys } from '../disk/part-state.js';
import { checkPartStale } from './stale-check.js';
import { parseGoTime } from '../populate/trivy-metadata.js';

export class FreshnessCheck {
  readonly #state: CachePopulatorState;
  readonly #repair: CacheRepair;
  readonly #metrics?: CacheMetrics;
  #ticking = false;

  constructor(state: CachePopulatorState, repair: CacheRepair) {
    this.#state = state;
    this.#repair = repair;
    if (state.deps.metrics) this.#metrics = new CacheMetrics(state.deps.metrics);
  }

  async tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    const state = this.#state;
    try {
      const now = state.now();
      for (const target of state.config.targets) {
        for (const key of await recordedKeys(target.dir)) {
          const part = await readPartState(target.dir, key);
          if (!part || !target.include.includes(part.part)) continue;
          await this.#repair
            .repairIfBroken(target, key, state.stopping.signal)
            .catch((err: unknown) => state.log.error({ err, dir: target.dir, part: key }, 'repair failed'));
          const fresh = (await readPartState(target.dir, key)) ?? part;
          const meta = await readJsonFile<Record<string, unknown>>(
            path.join(target.dir, fresh.linkPath, 'metadata.json'),
          );
          const health = state.partHealth(target.dir, key);
          await checkPartStale(
            {
              events: state.deps.events,
              logger: state.log,
              layoutPath: (r) => state.deps.store.layoutPath(r),
            },
            target,
            fresh,
            meta,
            now,
            health,
          );
          const ref =
            parseGoTime(meta?.UpdatedAt) ??
            parseGoTime(meta?.DownloadedAt) ??
            parseGoTime(fresh.metadata.UpdatedAt);
          if (ref) this.#metrics?.age(target.dir, key, Math.max(0, (now.getTime() - ref.getTime()) / 1000));
          this.#metrics?.stale(target.dir, key, health.stale ?? false);
        }
      }
      await state.cleanup();
    } catch (err) {
      state.log.error({ err }, 'cache check failed');
    } finally {
      this.#ticking = false;
    }
  }
}

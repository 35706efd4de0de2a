// The cache populator's roles wired by hand, for tests and embedders that run it without a container:
// the job, watch-and-repair, the periodic freshness check, the health report and the lifecycle.
// The daemon binds the same classes in cache-populator-module.ts.
import type { PluginContext } from '@trivy-mirror/plugin-api';
import { CacheHealth } from './daemon/cache-health.js';
import { CacheLifecycle } from './daemon/cache-lifecycle.js';
import { CacheRepair } from './daemon/cache-repair.js';
import { type CachePopulatorDeps, CachePopulatorState } from './daemon/cache-state.js';
import type { CachePopulatorConfig } from './config-schema.js';
import { FreshnessCheck } from './daemon/freshness-check.js';
import { PopulateJob } from './daemon/populate-job.js';
import { TargetPopulator } from './daemon/target-populator.js';

export class CachePopulatorService {
  readonly state: CachePopulatorState;
  readonly populator: TargetPopulator;
  readonly job: PopulateJob;
  readonly cacheWatch: CacheRepair;
  readonly freshness: FreshnessCheck;
  readonly healthCheck: CacheHealth;
  readonly lifecycle: CacheLifecycle;

  constructor(config: CachePopulatorConfig, context: PluginContext, deps: CachePopulatorDeps) {
    this.state = new CachePopulatorState(config, context, deps);
    this.populator = new TargetPopulator(this.state);
    this.job = new PopulateJob(this.state, this.populator);
    this.cacheWatch = new CacheRepair(this.state, this.populator);
    this.freshness = new FreshnessCheck(this.state, this.cacheWatch);
    this.healthCheck = new CacheHealth(this.state);
    this.lifecycle = new CacheLifecycle(this.state, this.freshness);
  }

  start(signal: AbortSignal): Promise<void> {
    return this.lifecycle.start(signal);
  }

  stop(): Promise<void> {
    return this.lifecycle.stop();
  }

  tick(): Promise<void> {
    return this.freshness.tick();
  }

  ignored(p: string): boolean {
    return this.cacheWatch.ignored(p);
  }

  classify(p: string) {
    return this.cacheWatch.classify(p);
  }
}

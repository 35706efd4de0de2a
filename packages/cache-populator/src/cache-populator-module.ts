// Binds the cache populator: the shared state, and each contribution to its own class (job, watch
// and repair, health, lifecycle), with the periodic freshness check the lifecycle starts.
import {
  ArtifactStore,
  CacheWatch,
  Clock,
  EventBus,
  HealthCheck,
  Job,
  LifecycleContribution,
  Metrics,
  type PluginContext,
  Trust,
} from '@trivy-mirror/plugin-api';
import { type Bind, ContainerModule, type MapToResolvedValueInjectOptions } from 'inversify';
import { CacheHealth } from './daemon/cache-health.js';
import { CacheLifecycle } from './daemon/cache-lifecycle.js';
import { CacheRepair } from './daemon/cache-repair.js';
import { CachePopulatorState } from './daemon/cache-state.js';
import type { CachePopulatorConfig } from './config-schema.js';
import { FreshnessCheck } from './daemon/freshness-check.js';
import { PopulateJob } from './daemon/populate-job.js';
import { TargetPopulator } from './daemon/target-populator.js';

/** The plugin's shared state (CachePopulatorState), for the daemon or tests that want to reach it. */
export const CachePopulator: unique symbol = Symbol.for('trivy-mirror.cache-populator.Service');

export function cachePopulatorModule(config: CachePopulatorConfig, context: PluginContext): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(CachePopulator)
      .toResolvedValue(
        (
          clock: Clock,
          events: EventBus,
          store: ArtifactStore,
          metrics: Metrics | undefined,
          trust: Trust | undefined,
        ) => new CachePopulatorState(config, context, { clock, events, store, metrics, trust }),
        [
          Clock,
          EventBus,
          ArtifactStore,
          { serviceIdentifier: Metrics, optional: true },
          { serviceIdentifier: Trust, optional: true },
        ],
      )
      .inSingletonScope();
    bindSelf(bind, TargetPopulator, [CachePopulator]);
    bindSelf(bind, PopulateJob, [CachePopulator, TargetPopulator]);
    bindSelf(bind, CacheRepair, [CachePopulator, TargetPopulator]);
    bindSelf(bind, FreshnessCheck, [CachePopulator, CacheRepair]);
    bindSelf(bind, CacheHealth, [CachePopulator]);
    bindSelf(bind, CacheLifecycle, [CachePopulator, FreshnessCheck]);
    bind(Job).toService(PopulateJob);
    bind(CacheWatch).toService(CacheRepair);
    bind(HealthCheck).toService(CacheHealth);
    bind(LifecycleContribution).toService(CacheLifecycle);
  });
}

/** Binds a class (no decorators) to itself as a singleton, built from the given dependencies. */
function bindSelf<T, A extends unknown[]>(
  bind: Bind,
  cls: new (...args: A) => T,
  deps: MapToResolvedValueInjectOptions<A>,
): void {
  bind<T>(cls)
    .toResolvedValue((...args: A) => new cls(...args), deps)
    .inSingletonScope();
}

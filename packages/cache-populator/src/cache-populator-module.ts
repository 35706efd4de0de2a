// Binds the cache populator's service and its contributions (job, watch, health, lifecycle).
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
} from '@trivy-mirror/plugin-api';
import { ContainerModule } from 'inversify';
import { CachePopulatorService } from './cache-populator-service.js';
import type { CachePopulatorConfig } from './config-schema.js';
import { checkTargetDirs } from './target-dirs-check.js';

/** The service's own token, for the daemon or tests that want to reach it. */
export const CachePopulator: unique symbol = Symbol.for('trivy-mirror.cache-populator.Service');

export function cachePopulatorModule(config: CachePopulatorConfig, context: PluginContext): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(CachePopulator)
      .toResolvedValue(
        (clock: Clock, events: EventBus, store: ArtifactStore, metrics: Metrics | undefined) =>
          new CachePopulatorService(config, context, { clock, events, store, metrics }),
        [Clock, EventBus, ArtifactStore, { serviceIdentifier: Metrics, optional: true }],
      )
      .inSingletonScope();
    bind(Job).toResolvedValue((s: CachePopulatorService) => s.job, [CachePopulator]);
    bind(CacheWatch).toResolvedValue((s: CachePopulatorService) => s.cacheWatch, [CachePopulator]);
    bind(HealthCheck).toResolvedValue((s: CachePopulatorService) => s.healthCheck, [CachePopulator]);
    // check(): what start() needs, for `config check` and the pre-flight (target dirs can be made).
    bind(LifecycleContribution).toResolvedValue(
      (s: CachePopulatorService): LifecycleContribution => ({
        ...s.lifecycle,
        check: () => checkTargetDirs(config.targets),
      }),
      [CachePopulator],
    );
  });
}

// The oci-sync ContainerModule: one shared service (state, cool-downs, metrics) behind the Job,
// HealthCheck, HttpRoute and ClientConfigContribution it contributes.
import { dirname, join } from 'node:path';
import type { Transport } from '@trivy-mirror/oci';
import {
  ArtifactStore,
  CacheWatch,
  ClientConfigContribution,
  Clock,
  EventBus,
  HealthCheck,
  HttpRoute,
  Job,
  JobRunner,
  LifecycleContribution,
  Metrics,
  type PluginContext,
  RegistryTransport,
  Signing,
  Trust,
} from '@trivy-mirror/plugin-api';
import { ContainerModule } from 'inversify';
import { renderClientConfig } from './client-config/client-config.js';
import type { OciSyncConfig } from './config.js';
import { createRegistryRoute } from './serve/registry-route.js';
import { upstreamsOf } from './sync/store-inspect.js';
import { createStoreWatch } from './sync/store-watch.js';
import { RegistryTreePublisher } from './serve/registry-tree-publisher.js';
import { OciSyncHealth } from './sync/sync-health.js';
import { OciSyncJob } from './sync/sync-job.js';
import { SyncMetrics } from './sync/sync-metrics.js';
import { SyncState } from './sync/sync-state.js';

/** Private to this plugin: the job and its health check share state and cool-downs. */
export const OciSyncJobService: unique symbol = Symbol.for('trivy-mirror.oci-sync.OciSyncJob');

export function ociSyncModule(config: OciSyncConfig, context: PluginContext): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<OciSyncJob>(OciSyncJobService)
      .toResolvedValue(
        (
          registry: Transport,
          store: ArtifactStore,
          events: EventBus,
          clock: Clock,
          metrics: Metrics,
          signing: Signing | undefined,
          trust: Trust | undefined,
        ) =>
          new OciSyncJob({
            config,
            registry,
            store,
            events,
            now: () => clock.now(),
            metrics: new SyncMetrics(metrics.registry),
            state: new SyncState(join(context.pluginDir, 'state.json')),
            logger: context.logger,
            signing,
            trust,
          }),
        [
          RegistryTransport,
          ArtifactStore,
          EventBus,
          Clock,
          Metrics,
          { optional: true, serviceIdentifier: Signing },
          { optional: true, serviceIdentifier: Trust },
        ],
      )
      .inSingletonScope();

    bind<Job>(Job).toResolvedValue((job: OciSyncJob) => job, [OciSyncJobService]);
    bind<LifecycleContribution>(LifecycleContribution)
      .toResolvedValue(
        (job: OciSyncJob): LifecycleContribution => ({
          id: 'oci-sync.metadata',
          stop: () => job.metadata.stop(),
        }),
        [OciSyncJobService],
      )
      .inSingletonScope();
    // what readers report damaged in the store (artifact.damaged): checked, quarantined, fetched again
    let unlisten: (() => void) | undefined;
    bind<LifecycleContribution>(LifecycleContribution)
      .toResolvedValue(
        (job: OciSyncJob): LifecycleContribution => ({
          id: 'oci-sync.damage',
          start: async () => {
            unlisten = job.damage.listen();
          },
          stop: async () => unlisten?.(),
        }),
        [OciSyncJobService],
      )
      .inSingletonScope();

    bind<HealthCheck>(HealthCheck)
      .toResolvedValue(
        (job: OciSyncJob, store: ArtifactStore) =>
          new OciSyncHealth(
            config,
            store,
            job.state,
            job.cooldowns,
            job.now,
            job.metrics,
            job.damage,
            job.servedTrust,
          ),
        [OciSyncJobService, ArtifactStore],
      )
      .inSingletonScope();

    if (config.serve.enabled) {
      bind<HttpRoute>(HttpRoute)
        .toResolvedValue(
          (store: ArtifactStore, events: EventBus, job: OciSyncJob) =>
            createRegistryRoute(
              config,
              store,
              context.logger,
              { events, store: job.damage },
              job.servedTrust,
            ),
          [ArtifactStore, EventBus, OciSyncJobService],
        )
        .inSingletonScope();
    }

    if (config.artifacts.some((a) => upstreamsOf(a, config.sources).length === 0)) {
      bind<CacheWatch>(CacheWatch)
        .toResolvedValue(
          (store: ArtifactStore, jobs: JobRunner) =>
            createStoreWatch(dirname(store.layoutPath('trivy-db')), jobs, context.logger),
          [ArtifactStore, JobRunner],
        )
        .inSingletonScope();
    }

    const publishDir = config.publishRegistryDir;
    if (publishDir) {
      bind<LifecycleContribution>(LifecycleContribution)
        .toResolvedValue(
          (store: ArtifactStore, events: EventBus, metrics: Metrics) =>
            new RegistryTreePublisher(publishDir, store, events, context.logger, metrics.registry),
          [ArtifactStore, EventBus, Metrics],
        )
        .inSingletonScope();
    }

    bind<ClientConfigContribution>(ClientConfigContribution).toConstantValue({
      id: 'oci-sync',
      render: (options) => renderClientConfig(config, options),
    });
  });
}

// Binds the vexhub-mirror service and its contributions: the job, HTTP routes, health, client config, start hook.
import {
  CacheWatch,
  ClientConfigContribution,
  Clock,
  EventBus,
  HealthCheck,
  HttpClient,
  HttpRoute,
  Job,
  JobRunner,
  LifecycleContribution,
  Metrics,
  type PluginContext,
  RuntimeSettings,
  Signing,
} from '@trivy-mirror/plugin-api';
import { ContainerModule } from 'inversify';
import { vexClientConfig } from './client-config.js';
import type { VexhubMirrorConfig } from './config.js';
import { createImportWatch } from './transfer/import-watch.js';
import { VexMirror } from './vex-mirror.js';
import { createVexRoutes } from './serve/vex-routes.js';

export const PLUGIN_ID = 'vexhub-mirror';
export const JOB_ID = 'vexhub-mirror';

/** The plugin's own service token (not for other plugins: they listen to `vex.stored`). */
export const VexMirrorService: unique symbol = Symbol.for('trivy-mirror.vexhub-mirror.VexMirror');

const VexRoutes: unique symbol = Symbol.for('trivy-mirror.vexhub-mirror.routes');

export function vexhubMirrorModule(config: VexhubMirrorConfig, context: PluginContext): ContainerModule {
  // Clients can only be pointed at the mirror through an absolute URL in the rewritten manifest; without
  // one the repositories are still mirrored (for cache dirs) but not served.
  if (context.mode === 'daemon' && !context.publicUrl && !config.publishBaseUrl) {
    context.logger.warn(
      'no serve.publicUrl: VEX repositories are mirrored for cache dirs but not served; set serve (listen, publicUrl) ' +
        'or plugins.vexhub-mirror.publishBaseUrl to point clients at the mirror',
    );
  }
  return new ContainerModule(({ bind }) => {
    bind<VexMirror>(VexMirrorService)
      .toResolvedValue(
        (
          http: HttpClient,
          events?: EventBus,
          settings?: RuntimeSettings,
          metrics?: Metrics,
          clock?: Clock,
          signing?: Signing,
        ) =>
          new VexMirror({
            config,
            pluginDir: context.pluginDir,
            logger: context.logger,
            publicUrl: context.publicUrl,
            http,
            events,
            settings,
            metrics,
            clock,
            signing,
          }),
        [
          HttpClient,
          { serviceIdentifier: EventBus, optional: true },
          { serviceIdentifier: RuntimeSettings, optional: true },
          { serviceIdentifier: Metrics, optional: true },
          { serviceIdentifier: Clock, optional: true },
          { serviceIdentifier: Signing, optional: true },
        ],
      )
      .inSingletonScope();

    bind<Job>(Job)
      .toResolvedValue(
        (mirror: VexMirror): Job => ({
          id: JOB_ID,
          description: 'Mirror VEX repositories (VEX Hub): fetch, validate, rewrite and serve',
          schedule: config.schedule,
          runOnStart: true,
          timeoutMs: 30 * 60_000,
          run: (ctx) => mirror.run(ctx),
        }),
        [VexMirrorService],
      )
      .inSingletonScope();

    bind<HttpRoute[]>(VexRoutes)
      .toResolvedValue((mirror: VexMirror) => createVexRoutes(mirror), [VexMirrorService])
      .inSingletonScope();
    // One route for the root manifest, one per repository manifest, one for the archives.
    for (let i = 0; i < config.repositories.length + 2; i++) {
      bind<HttpRoute>(HttpRoute)
        .toResolvedValue((routes: HttpRoute[]) => routes[i], [VexRoutes])
        .inSingletonScope();
    }

    bind<HealthCheck>(HealthCheck)
      .toResolvedValue(
        (mirror: VexMirror): HealthCheck => ({ id: PLUGIN_ID, check: () => mirror.health() }),
        [VexMirrorService],
      )
      .inSingletonScope();

    bind<LifecycleContribution>(LifecycleContribution)
      .toResolvedValue(
        (mirror: VexMirror): LifecycleContribution => ({ id: PLUGIN_ID, start: () => mirror.load() }),
        [VexMirrorService],
      )
      .inSingletonScope();

    if (config.repositories.some((r) => r.source === 'import')) {
      bind<CacheWatch>(CacheWatch)
        .toResolvedValue(
          (mirror: VexMirror, jobs: JobRunner) =>
            createImportWatch(
              mirror
                .repositories()
                .filter((r) => r.config.source === 'import')
                .map((r) => r.store),
              JOB_ID,
              jobs,
              context.logger,
            ),
          [VexMirrorService, JobRunner],
        )
        .inSingletonScope();
    }

    bind<ClientConfigContribution>(ClientConfigContribution).toConstantValue(
      vexClientConfig(
        config.repositories.map((r) => r.name),
        config.publishBaseUrl,
      ),
    );
  });
}

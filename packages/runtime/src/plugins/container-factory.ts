// Builds one Inversify container per configuration generation: binds the shared services, then loads each
// plugin's ContainerModule with its PluginContext. Every plugin failure is collected and thrown together.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ArtifactStore,
  Clock,
  CredentialProvider,
  CredentialStore,
  describeError,
  EventBus,
  HttpClient,
  JobRunner,
  type Logger as LoggerT,
  Logger,
  Metrics,
  type PluginContext,
  PluginError,
  RegistryTransport,
  RuntimeSettings,
  Signing,
  Trust,
} from '@trivy-mirror/plugin-api';
import { Container, ContainerModule, type ServiceIdentifier } from 'inversify';
import { Registry } from 'prom-client';
import { LayoutArtifactStore } from '../services/artifact-store.js';
import type { RuntimeConfig } from '../config/config-schema.js';
import { ProviderCredentialStore } from '../services/credential-store.js';
import { InProcessEventBus } from '../services/event-bus.js';
import { UndiciHttpClient } from '../services/http-client.js';
import { applyTlsTrust, proxyRouterFor } from '../network/network-settings.js';
import type { JobRunnerService } from '../jobs/job-runner.js';
import { createLayoutTransport, createRegistryTransport } from '../services/oci-services.js';
import type { LoadedPlugin } from './plugin-loader.js';
import { PluginLoadError } from './plugin-loader.js';
import { KeySigning } from '../services/signing-service.js';
import { KeyTrust } from '../services/trust-service.js';

export type RuntimeMode = 'daemon' | 'cli' | 'demo';

export interface BuildContainerOptions {
  config: RuntimeConfig;
  plugins: readonly LoadedPlugin[];
  logger: LoggerT;
  clock: Clock;
  jobs: JobRunnerService;
  mode: RuntimeMode;
  userAgent?: string;
  /** The mirror's version (provenance of what it signs). */
  version?: string;
  /** Create each plugin's directory under stateDir (default true; `config check` changes nothing). */
  createDirs?: boolean;
}

/** The services of one generation; the runtime uses them directly, plugins get them by token. */
export interface RuntimeServices {
  events: InProcessEventBus;
  settings: RuntimeSettings;
  credentials: ProviderCredentialStore;
  registry: RegistryTransport & { close?(): Promise<void> };
  store: LayoutArtifactStore;
  http: UndiciHttpClient;
  /** The registry plugins add their metrics to (merged with the runtime's at /metrics). */
  pluginMetrics: Registry;
}

export interface BuiltContainer {
  container: Container;
  services: RuntimeServices;
  /** For a token, the plugin that made each binding, in binding (and getAll) order. */
  ownersOf(token: ServiceIdentifier): string[];
  /** getAll(token) with each contribution's plugin id. */
  contributions<T>(token: ServiceIdentifier<T>): { value: T; plugin: string }[];
}

/** Public URL without a trailing slash: `serve.publicUrl`, else derived from `serve.listen`. */
export function publicUrlOf(config: RuntimeConfig): string | undefined {
  if (!config.serve) return undefined;
  if (config.serve.publicUrl) return config.serve.publicUrl.replace(/\/+$/, '');
  const scheme = config.serve.tls ? 'https' : 'http';
  const [host, port] = [
    config.serve.listen.slice(0, config.serve.listen.lastIndexOf(':')),
    config.serve.listen.split(':').pop(),
  ];
  const h = host === '' || host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host;
  return `${scheme}://${h}:${port}`;
}

export async function buildContainer(options: BuildContainerOptions): Promise<BuiltContainer> {
  const { config, logger } = options;
  const container = new Container({ defaultScope: 'Singleton' });
  const settings: RuntimeSettings = {
    stateDir: config.stateDir,
    publicUrl: publicUrlOf(config),
    registries: config.registries,
    mode: options.mode,
  };
  const events = new InProcessEventBus(logger.child({ component: 'events' }));
  const credentials = new ProviderCredentialStore(
    () => container.getAll<CredentialProvider>(CredentialProvider, { optional: true }),
    logger.child({ component: 'credentials' }),
  );
  applyTlsTrust(config);
  const proxy = proxyRouterFor(config);
  const registry = createRegistryTransport({
    proxy,
    hosts: config.registries,
    credentials,
    logger: logger.child({ component: 'registry' }),
    userAgent: options.userAgent,
  });
  const store = new LayoutArtifactStore(config.stateDir, createLayoutTransport());
  const http = new UndiciHttpClient({
    proxy,
    credentials,
    hosts: config.registries,
    logger: logger.child({ component: 'http' }),
    userAgent: options.userAgent,
  });
  // The contract's Metrics keeps its registry opaque: here it is a prom-client Registry, which the
  // plugins' prom-client metrics register in. Likewise the Logger bound below is pino's.
  const pluginMetrics = new Registry();
  const metrics: Metrics = { registry: pluginMetrics };

  container.bind(Logger).toConstantValue(logger);
  container.bind(Clock).toConstantValue(options.clock);
  container.bind(EventBus).toConstantValue(events);
  container.bind(RuntimeSettings).toConstantValue(settings);
  container.bind(CredentialStore).toConstantValue(credentials);
  container.bind(RegistryTransport).toConstantValue(registry);
  container.bind(ArtifactStore).toConstantValue(store);
  container.bind(HttpClient).toConstantValue(http);
  container.bind(JobRunner).toConstantValue(options.jobs);
  container.bind(Metrics).toConstantValue(metrics);
  container.bind(Signing).toConstantValue(new KeySigning(config.signing, options.version ?? '0.0.0'));
  container.bind(Trust).toConstantValue(new KeyTrust(config.trust));

  const owners = new Map<ServiceIdentifier, string[]>();
  const errors: PluginError[] = [];
  for (const plugin of options.plugins) {
    const id = plugin.definition.id;
    try {
      const pluginDir = join(config.stateDir, 'plugins', id);
      if (options.createDirs !== false) await mkdir(pluginDir, { recursive: true });
      const context: PluginContext = {
        id,
        stateDir: config.stateDir,
        pluginDir,
        logger: logger.child({ plugin: id }),
        publicUrl: settings.publicUrl,
        mode: options.mode,
      };
      const module = plugin.definition.module(plugin.config, context);
      if (!module || typeof (module as { load?: unknown }).load !== 'function') {
        throw new Error('module() did not return an inversify ContainerModule');
      }
      // Records which plugin bound what, so start failures can name the plugin.
      const tracked = new ContainerModule(async (o) => {
        const bind: typeof o.bind = (token) => {
          owners.set(token, [...(owners.get(token) ?? []), id]);
          return o.bind(token);
        };
        await module.load({ ...o, bind });
      });
      await container.loadAsync(tracked);
    } catch (err) {
      errors.push(new PluginError(id, `cannot build its container module: ${describeError(err)}`, err));
    }
  }
  if (errors.length > 0) {
    await container.unbindAllAsync().catch(() => undefined);
    await http.close();
    throw new PluginLoadError(errors);
  }
  const ownersOf = (token: ServiceIdentifier) => owners.get(token) ?? [];
  return {
    container,
    services: { events, settings, credentials, registry, store, http, pluginMetrics },
    ownersOf,
    contributions<T>(token: ServiceIdentifier<T>) {
      const values = container.getAll<T>(token, { optional: true });
      const who = ownersOf(token);
      return values.map((value, i) => ({ value, plugin: who[i] ?? 'runtime' }));
    },
  };
}

// Shared set-up for one-shot commands: config, plugins and a runtime in 'cli' mode, or just credentials.
import authProviders, { createAuthProviders, createCredentialResolver } from '@trivy-mirror/auth-providers';
import type { CredentialResolver, HostOptions } from '@trivy-mirror/oci';
import type { Logger } from '@trivy-mirror/plugin-api';
import {
  createLogger,
  createRuntime,
  type LoadedConfig,
  loadConfig,
  loadPlugins,
  type Runtime,
} from '@trivy-mirror/runtime';
import { builtinPlugins } from './builtins.js';
import { version } from './version.js';

export interface CliLogOptions {
  verbose?: boolean;
  quiet?: boolean;
}

/** Logs for one-shot commands go to stderr so stdout stays for results. */
export function cliLogger(options: CliLogOptions = {}): Logger {
  const level = options.verbose ? 'debug' : options.quiet ? 'error' : 'warn';
  return createLogger({
    level,
    format: 'auto',
    destination: process.stderr,
    isTty: process.stderr.isTTY === true,
  });
}

export async function loadCliConfig(configPath: string | undefined): Promise<LoadedConfig> {
  return loadConfig({ path: configPath, plugins: builtinPlugins });
}

/** A runtime with every plugin bound but no listeners, schedules or watchers. */
export async function startCliRuntime(configPath: string | undefined, logger: Logger): Promise<Runtime> {
  const loaded = await loadCliConfig(configPath);
  for (const w of loaded.warnings) logger.warn(w);
  const plugins = await loadPlugins({
    builtins: builtinPlugins,
    baseDir: loaded.baseDir,
    config: loaded.config,
    locate: loaded.locate,
  });
  const runtime = createRuntime({
    config: loaded.config,
    plugins,
    logger,
    mode: 'cli',
    version,
    warnings: [],
  });
  await runtime.start({ admin: false, serve: false, scheduler: false, watcher: false, runOnStart: false });
  return runtime;
}

/** Credentials and host settings for `copy`/`populate --from-registry`, from the config when there is one. */
export async function registryAccess(
  configPath: string | undefined,
  plainHttp: string[],
  logger: Logger,
): Promise<{ credentials: CredentialResolver; hosts: HostOptions[] }> {
  let authConfig: unknown = {};
  let hosts: HostOptions[] = [];
  if (configPath || process.env.TRIVY_MIRROR_CONFIG) {
    const loaded = await loadCliConfig(configPath);
    authConfig = (loaded.config.plugins as Record<string, unknown>)['auth-providers'] ?? {};
    hosts = [...loaded.config.registries];
  }
  const config = authProviders.configSchema.parse(authConfig ?? {});
  const parts = createAuthProviders(config, { logger });
  await parts.lifecycle.start?.(new AbortController().signal);
  for (const host of plainHttp) {
    const existing = hosts.find((h) => h.host === host);
    if (existing) existing.plainHttp = true;
    else hosts.push({ host, plainHttp: true });
  }
  return { credentials: createCredentialResolver(parts.providers), hosts };
}

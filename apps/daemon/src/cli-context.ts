// Shared set-up for one-shot commands: config, plugins and a runtime in 'cli' mode, or just credentials.
import type { CredentialResolver, HostOptions } from '@trivy-mirror/oci';
import { type Logger, quotingCausesOnce, REDACT_PATHS } from '@trivy-mirror/plugin-api';
import type { LoadedConfig, Runtime } from '@trivy-mirror/runtime';
import { version } from './version.js';

// Heavy modules (the runtime, every plugin) load on first use: `copy` needs neither without --config.
const runtimeModule = () => import('@trivy-mirror/runtime');
export const builtins = async () => (await import('./builtins.js')).builtinPlugins;

export interface CliLogOptions {
  verbose?: boolean;
  quiet?: boolean;
}

/** Logs for one-shot commands go to stderr so stdout stays for results. */
export async function cliLogger(options: CliLogOptions = {}): Promise<Logger> {
  const level = options.verbose ? 'debug' : options.quiet ? 'error' : 'warn';
  if (process.stderr.isTTY) {
    const { createLogger } = await runtimeModule();
    return createLogger({ level, format: 'auto', destination: process.stderr, isTty: true });
  }
  // Not a terminal: plain JSON lines on stderr, without loading the runtime.
  const { pino } = await import('pino');
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: quotingCausesOnce(pino.stdSerializers.err) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ dest: 2, sync: true }),
  );
}

export async function loadCliConfig(configPath: string | undefined): Promise<LoadedConfig> {
  const { loadConfig } = await runtimeModule();
  return loadConfig({ path: configPath, plugins: await builtins() });
}

/** A runtime with every plugin bound but no listeners, schedules or watchers. */
export async function startCliRuntime(configPath: string | undefined, logger: Logger): Promise<Runtime> {
  const { createRuntime, loadPlugins } = await runtimeModule();
  const loaded = await loadCliConfig(configPath);
  for (const w of loaded.warnings) logger.warn(w);
  const plugins = await loadPlugins({
    builtins: await builtins(),
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
  const {
    default: authProviders,
    createAuthProviders,
    createCredentialResolver,
  } = await import('@trivy-mirror/auth-providers');
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

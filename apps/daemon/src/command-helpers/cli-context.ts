// Shared set-up for one-shot commands: config, plugins and a runtime in 'cli' mode, or just credentials.
import type { CredentialResolver, HostOptions, ProxyRouter } from '@trivy-mirror/oci';
import type { Logger } from '@trivy-mirror/plugin-api';
import { quotingCausesOnce } from '@trivy-mirror/plugin-api/error-serializer';
import { REDACT_PATHS } from '@trivy-mirror/plugin-api/redact-paths';
import { printableJson } from '@trivy-mirror/plugin-api/terminal-text';
import type { LoadedConfig, Runtime, RuntimeLogger } from '@trivy-mirror/runtime';
import { version } from '../version.js';

// Heavy modules (the runtime, every plugin) load on first use: `copy` needs neither without --config.
const runtimeModule = () => import('@trivy-mirror/runtime');
export const builtins = async () => (await import('../builtins.js')).builtinPlugins;

const ERROR_LEVEL = 50;

export interface CliLogOptions {
  verbose?: boolean;
  quiet?: boolean;
}

/** pino logMethod hook: records below error level pass, errors are the command's to print. */
function dropErrors(this: unknown, args: unknown[], method: (...a: unknown[]) => void, level: number): void {
  if (level < ERROR_LEVEL) method.apply(this, args);
}

/** Logs for one-shot commands go to stderr so stdout stays for results. */
export async function cliLogger(options: CliLogOptions = {}): Promise<RuntimeLogger> {
  const level = options.verbose ? 'debug' : options.quiet ? 'error' : 'warn';
  // Errors are left to the command, which prints each one with its causes; a log record of it too
  // would say it twice (with a stack). --verbose keeps them for debugging.
  const hooks = options.verbose ? undefined : { logMethod: dropErrors };
  if (process.stderr.isTTY) {
    const { createLogger } = await runtimeModule();
    return createLogger({ level, format: 'auto', destination: process.stderr, isTty: true, hooks });
  }
  // Not a terminal: plain JSON lines on stderr, without loading the runtime.
  const { pino } = await import('pino');
  return pino(
    {
      level,
      // DEL and C1 from upstream text as \u00XX escapes (JSON escapes C0 itself), like the daemon's logs
      hooks: { ...hooks, streamWrite: printableJson },
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
export async function startCliRuntime(
  configPath: string | undefined,
  logger: RuntimeLogger,
  /** Changes this run makes to the loaded (validated) config, e.g. a command's flags. */
  adjust?: (config: LoadedConfig['config']) => void,
): Promise<Runtime> {
  const { createRuntime, loadPlugins } = await runtimeModule();
  const loaded = await loadCliConfig(configPath);
  for (const w of loaded.warnings) logger.warn(w);
  adjust?.(loaded.config);
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
): Promise<{ credentials: CredentialResolver; hosts: HostOptions[]; proxy: ProxyRouter }> {
  let authConfig: unknown = {};
  let hosts: HostOptions[] = [];
  let proxy: ProxyRouter | undefined;
  if (configPath || process.env.TRIVY_MIRROR_CONFIG) {
    const loaded = await loadCliConfig(configPath);
    authConfig = (loaded.config.plugins as Record<string, unknown>)['auth-providers'] ?? {};
    hosts = [...loaded.config.registries];
    const { applyTlsTrust, proxyRouterFor } = await runtimeModule();
    applyTlsTrust(loaded.config);
    proxy = proxyRouterFor(loaded.config);
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
  return {
    credentials: createCredentialResolver(parts.providers),
    hosts,
    proxy: proxy ?? new (await import('@trivy-mirror/oci')).ProxyRouter({ hosts }),
  };
}

// What `trivy-mirror run` calls: load config and plugins, start the runtime, handle signals, exit.
//   SIGTERM / SIGINT: graceful stop; exit 0 within `shutdownTimeoutMs` (10 s) even if something hangs
//                     (what did not stop is logged). A second SIGINT exits at once.
//   SIGHUP:           reload the config file; an invalid config is logged and the running one kept.
// Start-up failure (bad config, plugin load/start errors): the message is logged and the exit code is 1.
import { describeError, type Logger, type PluginDefinition } from '@trivy-mirror/plugin-api';
import { loadConfig } from './config-loader.js';
import type { RuntimeMode } from './container-factory.js';
import { createLogger } from './logger.js';
import { loadPlugins } from './plugin-loader.js';
import { createRuntime, type Runtime } from './runtime.js';

export interface RunDaemonOptions {
  /** `--config`; else TRIVY_MIRROR_CONFIG, else /etc/trivy-mirror/config.yaml. */
  configPath?: string;
  /** The plugins shipped with the app, e.g. `[authProviders, ociSync, cachePopulator, vexhubMirror]`. */
  builtins: readonly PluginDefinition<any>[];
  /** Default: a logger built from the config's `log` section. */
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  version?: string;
  mode?: RuntimeMode;
  /** Hard deadline for shutdown (default 10 000 ms). */
  shutdownTimeoutMs?: number;
  /** Called once with the exit code (default process.exit). */
  exit?: (code: number) => void;
  /** Install SIGTERM/SIGINT/SIGHUP handlers (default true). */
  signals?: boolean;
  /** Called once the runtime has started (tests, the demo). */
  onStarted?: (runtime: Runtime) => void;
}

/** Runs the daemon until a signal stops it. Resolves with the exit code (after calling `exit`). */
export async function runDaemon(options: RunDaemonOptions): Promise<number> {
  const env = options.env ?? process.env;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const builtins = options.builtins as readonly PluginDefinition<unknown>[];
  let log: Logger = options.logger ?? createLogger({ level: 'info' });
  let runtime: Runtime;
  try {
    const loaded = await loadConfig({ path: options.configPath, env, plugins: builtins });
    if (!options.logger) log = createLogger(loaded.config.log);
    log.info({ config: loaded.source }, 'configuration loaded');
    const plugins = await loadPlugins({ builtins, baseDir: loaded.baseDir, config: loaded.config, locate: loaded.locate });
    runtime = createRuntime({
      config: loaded.config,
      plugins,
      logger: log,
      mode: options.mode ?? 'daemon',
      version: options.version,
      warnings: loaded.warnings,
      env,
      timeouts: { stopMs: Math.max(1000, (options.shutdownTimeoutMs ?? 10_000) - 500) },
    });
    await runtime.start();
  } catch (err) {
    log.fatal({ err }, `start-up failed: ${describeError(err)}`);
    log.flush?.();
    exit(1);
    return 1;
  }
  options.onStarted?.(runtime);

  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      detach();
      log.flush?.();
      exit(code);
      resolve(code);
    };
    const shutdown = (signal: string) => {
      if (runtime.phase === 'stopping') {
        if (signal === 'SIGINT') {
          log.warn('second SIGINT: exiting now');
          finish(0);
        }
        return;
      }
      log.info({ signal }, 'shutting down');
      const deadline = setTimeout(() => {
        log.error({ timeoutMs: options.shutdownTimeoutMs ?? 10_000 }, 'shutdown deadline reached; exiting anyway');
        finish(0);
      }, options.shutdownTimeoutMs ?? 10_000);
      deadline.unref();
      void runtime.stop(signal).then(
        () => {
          clearTimeout(deadline);
          finish(0);
        },
        (err) => {
          log.error({ err }, 'shutdown failed');
          clearTimeout(deadline);
          finish(0);
        },
      );
    };
    const reload = async () => {
      if (runtime.phase !== 'running') {
        log.warn({ phase: runtime.phase }, 'SIGHUP ignored');
        return;
      }
      try {
        const loaded = await loadConfig({ path: options.configPath, env, plugins: builtins });
        const plugins = await loadPlugins({ builtins, baseDir: loaded.baseDir, config: loaded.config, locate: loaded.locate });
        for (const w of loaded.warnings) log.warn(w);
        await runtime.reload(loaded.config, plugins);
      } catch (err) {
        log.error({ err }, `reload failed; keeping the current configuration: ${describeError(err)}`);
      }
    };
    const onTerm = () => shutdown('SIGTERM');
    const onInt = () => shutdown('SIGINT');
    const onHup = () => void reload();
    const detach = () => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      process.off('SIGHUP', onHup);
    };
    if (options.signals !== false) {
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
      process.on('SIGHUP', onHup);
    }
    // Stopped by someone else (tests, the demo): exit like a signal would.
    void waitStopped(runtime).then(() => finish(0));
  });
}

async function waitStopped(runtime: Runtime): Promise<void> {
  while (runtime.phase !== 'stopped') await new Promise((r) => setTimeout(r, 200).unref());
}

// What `trivy-mirror run` calls: load config and plugins, start the runtime, handle signals, exit.
//   SIGTERM / SIGINT: graceful stop; exit 0 within `shutdownTimeoutMs` (10 s) even if something hangs
//                     (what did not stop is logged). Also during start-up. A second SIGINT exits at once.
//   SIGHUP:           reload the config file; an invalid config is logged and the running one kept.
// Start-up failure (bad config, plugin load/start errors): the message is logged and the exit code is 1.
// An uncaught exception or unhandled rejection: logged at fatal, the normal shutdown runs, exit code 70.
import { stat } from 'node:fs/promises';
import { mkdirp } from '@trivy-mirror/oci/fs';
import { describeError, errorCode, type PluginDefinition } from '@trivy-mirror/plugin-api';
import { checkPlugins, preflightError } from './config/config-check.js';
import { type LoadedConfig, loadConfig } from './config/config-loader.js';
import type { RuntimeConfig } from './config/config-schema.js';
import { EXIT_FATAL, type FatalOrigin, installFatalHandlers } from './process/fatal-errors.js';
import type { RuntimeMode } from './plugins/container-factory.js';
import { idleConfigWarning } from './config/idle-config.js';
import { createLogger, type RuntimeLogger } from './logging/logger.js';
import { type LoadedPlugin, loadPlugins } from './plugins/plugin-loader.js';
import { createRuntime, type Runtime } from './runtime.js';
import { acquireStateLock, type StateLock } from './process/state-lock.js';

/** Start-up failures that are the environment's or the config's, not a bug: logged without a stack. */
const OPERATOR_ERRORS = new Set([
  'LISTEN_FAILED',
  'CONFIG_INVALID',
  'CONFIG_MISSING',
  'CONFIG_UNREADABLE',
  'STATE_DIR_LOCKED',
]);

export interface RunDaemonOptions {
  /** `--config`; else TRIVY_MIRROR_CONFIG, else /etc/trivy-mirror/config.yaml. */
  configPath?: string;
  /** The plugins shipped with the app, e.g. `[authProviders, ociSync, cachePopulator, vexhubMirror]`. */
  builtins: readonly PluginDefinition<unknown>[];
  /** Default: a logger built from the config's `log` section. */
  logger?: RuntimeLogger;
  env?: NodeJS.ProcessEnv;
  version?: string;
  mode?: RuntimeMode;
  /** Hard deadline for shutdown (default 10 000 ms). */
  shutdownTimeoutMs?: number;
  /** Called once with the exit code (default process.exit). */
  exit?: (code: number) => void;
  /** Install SIGTERM/SIGINT/SIGHUP handlers (default true). */
  signals?: boolean;
  /** Turn uncaught exceptions and unhandled rejections into a logged shutdown with exit 70 (default: `signals`). */
  fatalHandlers?: boolean;
  /** Called once the runtime has started (tests, the demo). */
  onStarted?: (runtime: Runtime) => void;
}

/** Runs the daemon until a signal (or runtime.stop()) stops it. Resolves with the exit code after calling `exit`. */
export async function runDaemon(options: RunDaemonOptions): Promise<number> {
  const env = options.env ?? process.env;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const builtins = options.builtins;
  const deadlineMs = options.shutdownTimeoutMs ?? 10_000;
  let log: RuntimeLogger = options.logger ?? createLogger({ level: 'info' });
  let runtime: Runtime | undefined;
  let lock: StateLock | undefined;
  let stopSignal: string | undefined;
  // 0 for a requested stop; EXIT_FATAL once an uncaught error has been seen, whoever started the stop
  let exitCode = 0;
  let finished = false;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));

  const finish = (code: number) => {
    if (finished) return;
    finished = true;
    detach();
    detachFatal();
    lock?.release();
    log.flush?.();
    exit(code);
    resolveDone(code);
  };
  const shutdown = (signal: string) => {
    if (stopSignal !== undefined) {
      if (signal === 'SIGINT') {
        log.warn('second SIGINT: exiting now');
        finish(exitCode);
      }
      return;
    }
    stopSignal = signal;
    log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error({ timeoutMs: deadlineMs }, 'shutdown deadline reached; exiting anyway');
      finish(exitCode);
    }, deadlineMs);
    deadline.unref();
    if (!runtime) return; // still loading the config: start-up checks stopSignal
    void runtime.stop(signal).then(
      () => {
        clearTimeout(deadline);
        finish(exitCode);
      },
      (err) => {
        log.error({ err }, 'shutdown failed');
        clearTimeout(deadline);
        finish(exitCode);
      },
    );
  };
  const reload = async () => {
    if (runtime?.phase !== 'running') {
      log.warn({ phase: runtime?.phase ?? 'loading' }, 'SIGHUP ignored');
      return;
    }
    try {
      // Everything `config check` refuses is refused here, before the running generation is touched.
      const { loaded, plugins } = await loadAll(options.configPath, env, builtins);
      await preflight(loaded, plugins, log);
      for (const w of loaded.warnings) log.warn(w);
      await runtime.reload(loaded.config, plugins);
    } catch (err) {
      log.error({ err }, `reload failed; keeping the current configuration: ${describeError(err)}`);
    }
  };
  const onFatal = (err: unknown, origin: FatalOrigin) => {
    const first = exitCode !== EXIT_FATAL;
    exitCode = EXIT_FATAL;
    if (!first) {
      log.fatal({ err, origin }, `${origin} during the fatal shutdown: ${describeError(err)}`);
      return;
    }
    log.fatal(
      { err, origin },
      `${origin}: ${describeError(err)}; shutting down (exit ${EXIT_FATAL}) so that the service manager restarts the daemon`,
    );
    shutdown('fatal');
  };
  const detachFatal =
    (options.fatalHandlers ?? options.signals !== false) ? installFatalHandlers(onFatal) : () => {};
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

  try {
    const { loaded, plugins } = await loadAll(options.configPath, env, builtins, (config) => {
      if (!options.logger) log = createLogger(config.log);
    });
    log.info({ config: loaded.source }, 'configuration loaded');
    if (stopSignal !== undefined) {
      finish(exitCode);
      return done;
    }
    const takeLock = async () => {
      lock = await acquireStateLock(loaded.config.stateDir);
      if (lock.tookOverFrom) {
        log.warn({ lock: lock.path, stalePid: lock.tookOverFrom.pid }, 'took over a stale state-dir lock');
      }
    };
    // A second daemon on this state dir stops here, naming the holder, before it binds a listener
    // (its admin port is the first's). A state dir that does not exist yet has no holder: the lock is
    // taken once the pre-flight has passed and the dir is made, so a refused start creates nothing.
    if (await isDirectory(loaded.config.stateDir)) await takeLock();
    runtime = createRuntime({
      config: loaded.config,
      plugins,
      logger: log,
      mode: options.mode ?? 'daemon',
      version: options.version,
      warnings: loaded.warnings,
      env,
      timeouts: { stopMs: Math.max(1000, deadlineMs - 500) },
      // Once /healthz answers (the stand-in listener is gone by now), before anything else starts.
      preflight: async () => {
        await preflight(loaded, plugins, log);
        if (lock) return;
        await mkdirp(loaded.config.stateDir);
        await takeLock();
      },
    });
    await runtime.start();
  } catch (err) {
    if (stopSignal !== undefined) {
      // Stopped while starting: that is a clean exit.
      log.info({ err }, 'start-up interrupted by a signal');
      finish(exitCode);
      return done;
    }
    // What the operator must fix (a port in use, a missing config) needs no stack trace: the code
    // and the message say it all. Anything else keeps its stack.
    const code = errorCode(err);
    const theirs = code !== undefined && OPERATOR_ERRORS.has(code);
    log.fatal(theirs ? { code } : { err }, `start-up failed: ${describeError(err)}`);
    finish(1);
    return done;
  }
  if (stopSignal !== undefined) {
    void runtime.stop(stopSignal).finally(() => finish(exitCode));
  } else {
    options.onStarted?.(runtime);
    // Stopped by someone else (tests, the demo): exit like a signal would.
    void waitStopped(runtime).then(() => finish(exitCode));
  }
  return done;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/** The config file and its plugins (builtins and external ones), validated. */
async function loadAll(
  configPath: string | undefined,
  env: NodeJS.ProcessEnv,
  builtins: readonly PluginDefinition<unknown>[],
  onConfig?: (config: RuntimeConfig) => void,
): Promise<{ loaded: LoadedConfig; plugins: LoadedPlugin[] }> {
  const loaded = await loadConfig({ path: configPath, env, plugins: builtins });
  onConfig?.(loaded.config);
  const plugins = await loadPlugins({
    builtins,
    baseDir: loaded.baseDir,
    config: loaded.config,
    locate: loaded.locate,
  });
  return { loaded, plugins };
}

/**
 * The pre-flight `config check` makes (state dir, TLS files, jobs, the plugins' checks): what fails
 * here fails with every problem, its YAML path and line, before anything is started or replaced.
 */
async function preflight(loaded: LoadedConfig, plugins: LoadedPlugin[], log: RuntimeLogger): Promise<void> {
  const problems = await checkPlugins({ config: loaded.config, plugins, logger: log, locate: loaded.locate });
  if (problems.length > 0) throw preflightError(loaded.source, problems);
  const idle = idleConfigWarning(plugins);
  if (idle) log.warn(idle);
}

function waitStopped(runtime: Runtime): Promise<void> {
  return runtime.health.whenStopped();
}

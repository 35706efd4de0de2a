// Holds the runtime's current plugin generation and the serving listener that answers with its routes:
// starts a generation (container, hooks, watcher, serving listener on first start, schedules), stops
// it, and replaces it on reload (falling back to the previous config when the new one fails to start).
import { describeError, type Logger } from '@trivy-mirror/plugin-api';
import type { ClientsSeen } from '../clients/clients-seen.js';
import type { RuntimeConfig } from '../config/config-schema.js';
import type { HttpListener } from '../http/http-listener.js';
import {
  activateGeneration,
  createGeneration,
  type Generation,
  type GenerationDeps,
  stopGeneration,
} from './plugin-generation.js';
import type { LoadedPlugin } from './plugin-loader.js';
import type { RouteEntry } from '../http/router.js';
import { createServeListener } from '../http/serve-server.js';

/** Which parts start with a generation (each default true). */
export interface GenerationStartOptions {
  serve?: boolean;
  scheduler?: boolean;
  runOnStart?: boolean;
  watcher?: boolean;
}

/** A config and the plugins it runs. */
export interface GenerationSpec {
  config: RuntimeConfig;
  plugins: readonly LoadedPlugin[];
}

export interface GenerationHostDeps {
  generation: GenerationDeps;
  /** Aborted when the runtime stops during start-up: start hooks see it. */
  startAbort: AbortSignal;
  drainMs: number;
  /** The serving listener's routes, given the generation's (the status page adds its own). */
  serveRoutes(routes: RouteEntry[] | undefined): RouteEntry[];
  /** Fed by the serving listener; outlives reloads. */
  clients?: ClientsSeen;
}

export class GenerationHost {
  readonly #deps: GenerationHostDeps;
  #gen?: Generation;
  #serve?: HttpListener;

  constructor(deps: GenerationHostDeps) {
    this.#deps = deps;
  }

  get current(): Generation | undefined {
    return this.#gen;
  }

  get serve(): HttpListener | undefined {
    return this.#serve;
  }

  get #log(): Logger {
    return this.#deps.generation.logger;
  }

  /** Builds the container and starts hooks, watcher, serve listener (first start / serve changed) and schedules. */
  async start(
    { config, plugins }: GenerationSpec,
    options: GenerationStartOptions,
    opts: { runOnStart?: boolean } = {},
  ): Promise<void> {
    const deps = this.#deps;
    const gen = await createGeneration(deps.generation, config, plugins);
    this.#gen = gen;
    // Start hooks see an abort when stop() is called during start-up.
    const controller = new AbortController();
    const onStop = () => controller.abort(new Error('runtime stopping'));
    deps.startAbort.addEventListener('abort', onStop, { once: true });
    try {
      await activateGeneration(gen, deps.generation, controller.signal, {
        watcher: options.watcher !== false,
      });
      if (options.serve !== false && config.serve && !this.#serve) {
        // Kept only once it listens: a listener that failed (port taken) must not stand in for one.
        const serve = await createServeListener({
          listen: config.serve.listen,
          tls: config.serve.tls,
          logger: this.#log,
          clients: deps.clients,
          state: {
            routes: () => deps.serveRoutes(this.#gen?.serveRoutes),
            authenticators: () => this.#gen?.authenticators ?? [],
          },
        });
        await serve.listen();
        this.#serve = serve;
      }
      const runOnStart = options.runOnStart !== false && opts.runOnStart !== false;
      if (options.scheduler !== false) gen.scheduler.start(gen.jobs, { runOnStart });
    } catch (err) {
      controller.abort();
      await this.stop('start-up failed').catch(() => undefined);
      throw err;
    } finally {
      deps.startAbort.removeEventListener('abort', onStop);
    }
  }

  /** Stops the plugin part of the current generation; returns what did not stop in time. */
  async stop(reason: string): Promise<string[]> {
    const gen = this.#gen;
    if (!gen) return [];
    const pending = await stopGeneration(gen, this.#deps.generation, reason);
    this.#gen = undefined;
    return pending;
  }

  /** Stops new work: the schedules and the watcher of the current generation. */
  async quiesce(): Promise<void> {
    if (!this.#gen) return;
    await this.#gen.scheduler.stop();
    await this.#gen.watcher.stop(this.#deps.generation.timeouts.jobsMs);
  }

  /** Closes the serving listener (drained within drainMs); false when requests were still open. */
  async closeServe(): Promise<boolean> {
    const serve = this.#serve;
    this.#serve = undefined;
    return serve ? serve.close(this.#deps.drainMs) : true;
  }

  /**
   * Replaces the current generation with one for `next`; a changed `serve` section restarts the serving
   * listener. When `next` fails to start, `previous` starts again (its jobs ran already and do not run
   * again now) and the error is rethrown; when that fails too, no generation runs and `onNone` is told.
   * `apply` is told which of the two is in force.
   */
  async replace(
    next: GenerationSpec,
    previous: GenerationSpec,
    options: GenerationStartOptions,
    hooks: { apply(spec: GenerationSpec): void; onNone(err: unknown): void },
  ): Promise<void> {
    const log = this.#log;
    const pending = await this.stop('reload');
    if (pending.length > 0) log.warn({ pending }, 'reload: these did not stop in time');
    if (JSON.stringify(next.config.serve) !== JSON.stringify(previous.config.serve)) await this.closeServe();
    try {
      hooks.apply(next);
      await this.start(next, options);
    } catch (err) {
      log.error({ err }, 'new configuration failed to start; restoring the previous one');
      hooks.apply(previous);
      try {
        await this.start(previous, options, { runOnStart: false });
      } catch (err2) {
        log.error({ err: err2 }, 'previous configuration failed to start too; running without plugins');
        hooks.onNone(err2);
      }
      throw err;
    }
  }
}

/** The health check that stands in when no generation runs after a failed reload. */
export function reloadFailedCheck(err: unknown) {
  return { id: 'runtime', check: () => ({ ready: false, reason: `reload failed: ${describeError(err)}` }) };
}

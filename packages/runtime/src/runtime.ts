// The runtime: owns the listeners, the container generation (plugins), scheduler, watcher and job runner,
// and orders start, stop and reload.
//
// Start: admin listener -> temp sweep -> container + plugin start hooks -> watcher -> serve listener
//        -> scheduler (runOnStart jobs) -> ready (and systemd READY=1).
// Stop:  readiness 503 -> schedules and watcher stop -> running jobs aborted -> HTTP drained
//        -> plugin stop hooks -> container.unbindAll(); every step bounded, the whole within `stopMs`.
// Reload: listeners stay up; the plugin part (container, hooks, watcher, schedules) is stopped and started
//        again with the new config (run-daemon refuses a config that fails the pre-flight before this;
//        one that still fails to start falls back to the old config, whose jobs do not run again). A
//        changed `admin.listen` needs a restart (allowedHosts does not); a changed `serve` restarts its listener.
import { mkdirp } from '@trivy-mirror/oci/fs';
import { type Clock, type JobRunRecord, MirrorError } from '@trivy-mirror/plugin-api';
import type { Container } from 'inversify';
import { createAdminListener } from './http/admin-server.js';
import { ClientsSeen } from './clients/clients-seen.js';
import { systemClock } from './services/clock.js';
import { configWarnings } from './config/config-loader.js';
import type { RuntimeConfig } from './config/config-schema.js';
import type { RuntimeMode, RuntimeServices } from './plugins/container-factory.js';
import { GenerationHost, reloadFailedCheck } from './plugins/generation-host.js';
import { HealthRegistry, type Readiness } from './status/health-registry.js';
import type { HttpListener } from './http/http-listener.js';
import { JobRunnerService } from './jobs/job-runner.js';
import { within } from './process/lifecycle.js';
import { createLogger, type RuntimeLogger } from './logging/logger.js';
import { MemoryReclaimer } from './process/memory-reclaim.js';
import { RuntimeMetrics } from './status/metrics.js';
import type { LoadedPlugin } from './plugins/plugin-loader.js';
import { RuntimeViews } from './runtime-views.js';
import { StatusPage } from './status/status-page-service.js';
import type { JobStatus, StatusReport } from './status/status-report.js';
import { systemdNotify } from './process/systemd-notify.js';
import { sweepTempFiles } from './process/temp-sweep.js';

export interface RuntimeOptions {
  config: RuntimeConfig;
  plugins: readonly LoadedPlugin[];
  /** Default: createLogger(config.log). */
  logger?: RuntimeLogger;
  mode?: RuntimeMode;
  version?: string;
  clock?: Clock;
  /** Extra start-up warnings (e.g. from loadConfig). */
  warnings?: string[];
  /** Bounds for shutdown (ms). `stopMs` (default 10 000) caps the whole stop. */
  timeouts?: { stopMs?: number; jobsMs?: number; drainMs?: number; hooksMs?: number };
  /** For systemd notification (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Runs once the admin listener answers, before anything else starts; throwing stops start-up. */
  preflight?: () => Promise<void>;
}

export interface StartOptions {
  /** Start the admin listener (default true). */
  admin?: boolean;
  /** Start the serving listener when `serve` is configured (default true). */
  serve?: boolean;
  /** Schedule jobs and wire event triggers (default true). */
  scheduler?: boolean;
  /** Run `runOnStart` jobs after start-up (default true; needs `scheduler`). */
  runOnStart?: boolean;
  /** Start the CacheWatch watchers (default true). */
  watcher?: boolean;
  /** Remove `.tmp-*` leftovers under stateDir (default true). */
  sweepTemp?: boolean;
}

export interface StopResult {
  /** True when everything stopped within the bounds. */
  clean: boolean;
  /** What did not stop in time or failed (job ids, hook ids, listeners). */
  pending: string[];
  ms: number;
}

export class Runtime {
  readonly logger: RuntimeLogger;
  readonly jobs: JobRunnerService;
  readonly metrics: RuntimeMetrics;
  readonly health: HealthRegistry;
  readonly mode: RuntimeMode;
  readonly version: string;
  readonly clock: Clock;
  readonly statusPage: StatusPage;
  readonly clients: ClientsSeen;
  #config: RuntimeConfig;
  #plugins: readonly LoadedPlugin[];
  readonly #generations: GenerationHost;
  readonly #views: RuntimeViews;
  #admin?: HttpListener;
  #startOptions: StartOptions = {};
  #startedAt: Date;
  #stopping?: Promise<StopResult>;
  #starting?: Promise<void>;
  #startAbort = new AbortController();
  #reloading?: Promise<void>;
  readonly #timeouts: Required<NonNullable<RuntimeOptions['timeouts']>>;
  readonly #warnings: string[];
  readonly #env: NodeJS.ProcessEnv;
  readonly #preflight?: () => Promise<void>;
  readonly #reclaimer: MemoryReclaimer;

  constructor(options: RuntimeOptions) {
    this.#config = options.config;
    this.#plugins = options.plugins;
    this.logger = options.logger ?? createLogger(options.config.log);
    this.mode = options.mode ?? 'daemon';
    this.version = options.version ?? '0.0.0';
    this.clock = options.clock ?? systemClock;
    this.#startedAt = this.clock.now();
    this.metrics = new RuntimeMetrics({ version: this.version });
    this.jobs = new JobRunnerService(this.logger.child({ component: 'jobs' }), this.clock, this.metrics);
    // a long-running process gives memory back after each burst of work; a one-shot CLI just exits
    this.#reclaimer = new MemoryReclaimer(
      undefined,
      () => this.jobs.busy(),
      this.logger.child({ component: 'memory' }),
    );
    if (this.mode !== 'cli') {
      this.jobs.onBusy(() => this.#reclaimer.working());
      this.jobs.onIdle(() => this.#reclaimer.schedule());
    }
    this.health = new HealthRegistry(this.logger.child({ component: 'health' }));
    this.statusPage = new StatusPage(this);
    const clientsLog = this.logger.child({ component: 'clients' });
    this.clients = new ClientsSeen({ clock: this.clock, logger: clientsLog, metrics: this.metrics });
    const stopMs = options.timeouts?.stopMs ?? 10_000;
    this.#timeouts = {
      stopMs,
      jobsMs: options.timeouts?.jobsMs ?? Math.round(stopMs * 0.4),
      drainMs: options.timeouts?.drainMs ?? Math.round(stopMs * 0.2),
      hooksMs: options.timeouts?.hooksMs ?? Math.round(stopMs * 0.3),
    };
    this.#warnings = options.warnings ?? [];
    this.#env = options.env ?? process.env;
    this.#preflight = options.preflight;
    this.#generations = new GenerationHost({
      generation: {
        logger: this.logger,
        clock: this.clock,
        jobs: this.jobs,
        health: this.health,
        mode: this.mode,
        userAgent: `trivy-mirror/${this.version}`,
        version: this.version,
        timeouts: this.#timeouts,
      },
      startAbort: this.#startAbort.signal,
      drainMs: this.#timeouts.drainMs,
      serveRoutes: (routes) => this.statusPage.serveRoutes(routes),
      clients: this.clients,
    });
    const runtime = this;
    this.#views = new RuntimeViews({
      version: this.version,
      clock: this.clock,
      logger: this.logger,
      health: this.health,
      jobs: this.jobs,
      metrics: this.metrics,
      statusPage: this.statusPage,
      clients: this.clients,
      get config() {
        return runtime.#config;
      },
      get startedAt() {
        return runtime.#startedAt;
      },
      get generation() {
        return runtime.#generations.current;
      },
    });
  }

  get config(): RuntimeConfig {
    return this.#config;
  }

  get phase() {
    return this.health.phase;
  }

  /** The current container (undefined before start and after stop). */
  get container(): Container | undefined {
    return this.#generations.current?.built.container;
  }

  get services(): RuntimeServices | undefined {
    return this.#generations.current?.built.services;
  }

  /** `http://127.0.0.1:PORT` of the admin listener once it listens. */
  get adminUrl(): string | undefined {
    return this.#admin?.address()?.url;
  }

  get serveUrl(): string | undefined {
    return this.#generations.serve?.address()?.url;
  }

  start(options: StartOptions = {}): Promise<void> {
    if (this.health.phase !== 'created')
      return Promise.reject(new Error(`runtime cannot start: it is ${this.health.phase}`));
    this.#starting = this.#start(options);
    return this.#starting;
  }

  #checkAborted(): void {
    if (this.#startAbort.signal.aborted)
      throw new MirrorError('START_ABORTED', 'start-up aborted: the runtime is stopping');
  }

  async #start(options: StartOptions): Promise<void> {
    this.#startOptions = options;
    this.health.phase = 'starting';
    this.#startedAt = this.clock.now();
    const log = this.logger;
    for (const w of [...new Set([...this.#warnings, ...configWarnings(this.#config)])]) log.warn(w);
    try {
      // The admin listener comes first so /healthz answers while plugins start.
      if (options.admin !== false) {
        this.#admin = createAdminListener({
          listen: this.#config.admin.listen,
          allowedHosts: () => this.#config.admin.allowedHosts, // SIGHUP applies a change
          logger: log,
          state: this.#views.adminState(),
        });
        await this.#admin.listen();
      }
      await this.#preflight?.();
      this.#checkAborted();
      await mkdirp(this.#config.stateDir);
      if (options.sweepTemp !== false) {
        const { removed } = await sweepTempFiles(this.#config.stateDir, { olderThan: this.#startedAt });
        if (removed.length > 0)
          log.info({ removed: removed.length }, 'removed leftovers of interrupted writes');
      }
      this.#checkAborted();
      await this.#generations.start({ config: this.#config, plugins: this.#plugins }, options);
      this.#checkAborted();
      this.health.phase = 'running';
      const r = await this.health.readiness();
      log.info(
        {
          ms: Math.round(this.clock.now().getTime() - this.#startedAt.getTime()),
          ready: r.ready,
          reasons: r.reasons,
        },
        'started',
      );
      if (this.mode === 'daemon') await systemdNotify('READY=1', log, this.#env);
    } catch (err) {
      log.debug({ err }, 'start-up failed; cleaning up');
      await this.#teardown('start-up failed').catch(() => undefined);
      this.health.phase = 'stopped';
      throw err;
    }
  }

  async #teardown(reason: string): Promise<string[]> {
    const pending: string[] = [];
    // Scheduler and watcher first so no new work starts while requests drain.
    await this.#generations.quiesce();
    const jobsLeft = await this.jobs.stop(reason, this.#timeouts.jobsMs);
    this.#reclaimer.cancel();
    if (!(await this.#generations.closeServe())) pending.push('serve listener requests');
    pending.push(...(await this.#generations.stop(reason)));
    pending.push(...jobsLeft.filter((j) => !pending.includes(`job ${j}`)).map((j) => `job ${j}`));
    // runs that ended during the stop are still being appended to stateDir/history.jsonl
    if (!(await within(this.statusPage.idle(), this.#timeouts.hooksMs))) pending.push('status history');
    // The admin listener closes last: /readyz answers 503 (phase "stopping") for the whole shutdown.
    if (this.#admin && !(await this.#admin.close(this.#timeouts.drainMs)))
      pending.push('admin listener requests');
    this.#admin = undefined;
    return pending;
  }

  /** Graceful stop; idempotent (a second call returns the first one's result). */
  stop(reason = 'stop'): Promise<StopResult> {
    this.#stopping ??= (async () => {
      const started = performance.now();
      const log = this.logger;
      if (this.health.phase === 'created' || this.health.phase === 'stopped') {
        this.health.phase = 'stopped';
        return { clean: true, pending: [], ms: 0 };
      }
      if (this.health.phase === 'starting') {
        // start() cleans up after itself when aborted.
        log.info({ reason }, 'stop requested during start-up');
        this.#startAbort.abort();
        const settled = await within(this.#starting ?? Promise.resolve(), this.#timeouts.stopMs);
        const ms = Math.round(performance.now() - started);
        if ((this.health.phase as string) === 'stopped' || !settled) {
          this.health.phase = 'stopped';
          return { clean: settled, pending: settled ? [] : ['start-up'], ms };
        }
      }
      this.health.phase = 'stopping';
      log.info({ reason }, 'stopping');
      if (this.mode === 'daemon') void systemdNotify('STOPPING=1', log, this.#env);
      if (this.#reloading) await within(this.#reloading, this.#timeouts.stopMs / 2);
      let pending: string[] = ['shutdown'];
      const finished = await within(
        this.#teardown(reason).then((p) => {
          pending = p;
        }),
        this.#timeouts.stopMs,
      );
      this.health.phase = 'stopped';
      const ms = Math.round(performance.now() - started);
      if (!finished || pending.length > 0) log.warn({ pending, ms }, 'stopped; these did not stop in time');
      else log.info({ ms }, 'stopped');
      return { clean: finished && pending.length === 0, pending, ms };
    })();
    return this.#stopping;
  }

  /**
   * Applies a new config (already validated) and plugin set: listeners stay, the plugin part restarts.
   * When the new generation fails to start, the previous config is restored and the error rethrown.
   */
  reload(config: RuntimeConfig, plugins: readonly LoadedPlugin[] = this.#plugins): Promise<void> {
    if (this.health.phase !== 'running')
      return Promise.reject(new Error(`cannot reload while ${this.health.phase}`));
    const run = async () => {
      const log = this.logger;
      const old = { config: this.#config, plugins: this.#plugins };
      this.health.phase = 'reloading';
      log.info('reloading configuration');
      if (config.admin.listen !== old.config.admin.listen) {
        log.warn(
          { from: old.config.admin.listen, to: config.admin.listen },
          'admin.listen changed; restart the daemon to apply it',
        );
      }
      const apply = (spec: { config: RuntimeConfig; plugins: readonly LoadedPlugin[] }) => {
        this.#config = spec.config;
        this.#plugins = spec.plugins;
        this.logger.level = spec.config.log.level;
      };
      await this.#generations
        .replace({ config, plugins }, old, this.#startOptions, {
          apply,
          onNone: (err) => this.health.setChecks(() => [reloadFailedCheck(err)]),
        })
        .finally(() => {
          this.health.phase = 'running';
        });
      log.info('configuration reloaded');
    };
    this.#reloading = run().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  /**
   * Runs jobs once, one after the other (for `trivy-mirror sync`): the named ones, else every job with
   * `partOfSync !== false`. Unknown names are an error. Start the runtime first (e.g. with
   * `{ admin: false, serve: false, scheduler: false, watcher: false }`).
   */
  async runOnce(options: { only?: string[]; reason?: string } = {}): Promise<JobRunRecord[]> {
    const jobs = this.jobs.jobs();
    let selected = jobs.filter((j) => j.partOfSync !== false);
    if (options.only && options.only.length > 0) {
      const unknown = options.only.filter((id) => !jobs.some((j) => j.id === id));
      if (unknown.length > 0) {
        throw new MirrorError(
          'JOB_UNKNOWN',
          `unknown job(s): ${unknown.join(', ')} (known: ${jobs.map((j) => j.id).join(', ')})`,
        );
      }
      selected = jobs.filter((j) => options.only!.includes(j.id));
    }
    const records: JobRunRecord[] = [];
    for (const job of selected) records.push(await this.jobs.trigger(job.id, options.reason ?? 'cli'));
    return records;
  }

  readiness(): Promise<Readiness> {
    return this.health.readiness();
  }

  status(): Promise<StatusReport> {
    return this.#views.status();
  }

  listJobs(): JobStatus[] {
    return this.#views.listJobs();
  }

  metricsText(): Promise<{ contentType: string; text: string }> {
    return this.#views.metricsText();
  }
}

export function createRuntime(options: RuntimeOptions): Runtime {
  return new Runtime(options);
}

// One generation of the plugin part of the runtime: the container built from one config, its contributions
// (jobs, routes, authenticators, health checks), its start hooks, watcher and scheduler. A reload replaces
// the generation; the listeners and the job runner outlive it.
import {
  CacheWatch,
  type Clock,
  HealthCheck,
  HttpRoute,
  type Job,
  Job as JobToken,
  LifecycleContribution,
  type Logger,
  MirrorError,
  ServeAuthenticator,
} from '@trivy-mirror/plugin-api';
import type { RuntimeConfig } from '../config/config-schema.js';
import { type BuiltContainer, buildContainer, type RuntimeMode } from './container-factory.js';
import type { HealthRegistry } from '../status/health-registry.js';
import type { JobRunnerService } from '../jobs/job-runner.js';
import { startContributions, stopContributions, within } from '../process/lifecycle.js';
import type { LoadedPlugin } from './plugin-loader.js';
import { fromContributions, type RouteEntry } from '../http/router.js';
import { jobProblems, Scheduler } from '../jobs/scheduler.js';
import { WatcherService } from '../jobs/watcher-service.js';

export interface Generation {
  built: BuiltContainer;
  jobs: Job[];
  scheduler: Scheduler;
  watcher: WatcherService;
  lifecycle: LifecycleContribution[];
  adminRoutes: RouteEntry[];
  serveRoutes: RouteEntry[];
  authenticators: ServeAuthenticator[];
  healthChecks: HealthCheck[];
}

export interface GenerationDeps {
  logger: Logger;
  clock: Clock;
  jobs: JobRunnerService;
  health: HealthRegistry;
  mode: RuntimeMode;
  userAgent: string;
  /** The mirror's version (provenance of what it signs). */
  version?: string;
  timeouts: { jobsMs: number; hooksMs: number };
}

/** Builds the container and collects its contributions; bad job definitions stop it before any hook runs. */
export async function createGeneration(
  deps: GenerationDeps,
  config: RuntimeConfig,
  plugins: readonly LoadedPlugin[],
): Promise<Generation> {
  const log = deps.logger;
  const built = await buildContainer({
    config,
    plugins,
    logger: log,
    clock: deps.clock,
    jobs: deps.jobs,
    mode: deps.mode,
    userAgent: deps.userAgent,
    version: deps.version,
  });
  const routes = () => built.contributions<HttpRoute>(HttpRoute).map((c) => c.value);
  const gen: Generation = {
    built,
    jobs: [],
    scheduler: new Scheduler(deps.jobs, built.services.events, log.child({ component: 'scheduler' })),
    watcher: new WatcherService(log.child({ component: 'watcher' })),
    lifecycle: [],
    adminRoutes: [],
    serveRoutes: [],
    authenticators: [],
    healthChecks: [],
  };
  try {
    const jobContributions = built.contributions<Job>(JobToken);
    gen.jobs = jobContributions.map((c) => c.value);
    const problems = jobProblems(gen.jobs, (job) => jobContributions.find((c) => c.value === job)?.plugin);
    if (problems.length > 0) {
      throw new MirrorError('JOB_INVALID', `invalid jobs:\n  - ${problems.join('\n  - ')}`);
    }
    gen.adminRoutes = fromContributions(routes(), 'admin');
    gen.serveRoutes = fromContributions(routes(), 'serve');
    gen.authenticators = built.contributions<ServeAuthenticator>(ServeAuthenticator).map((c) => c.value);
    gen.healthChecks = built.contributions<HealthCheck>(HealthCheck).map((c) => c.value);
  } catch (err) {
    // Nothing of it ran yet: only the container goes (the job runner's runs belong to others).
    await disposeContainer(built, deps.logger);
    throw err;
  }
  return gen;
}

/** Makes the generation current (health checks, jobs), runs its start hooks and starts its watcher. */
export async function activateGeneration(
  gen: Generation,
  deps: GenerationDeps,
  signal: AbortSignal,
  options: { watcher: boolean },
): Promise<void> {
  deps.health.setChecks(() => gen.healthChecks);
  deps.jobs.setJobs(gen.jobs);
  const hooks = gen.built.contributions<LifecycleContribution>(LifecycleContribution);
  const owner = new Map(hooks.map((h) => [h.value, h.plugin]));
  try {
    gen.lifecycle = await startContributions(
      hooks.map((h) => h.value),
      signal,
      deps.logger,
      (c) => owner.get(c) ?? c.id,
    );
  } catch (err) {
    gen.lifecycle = (err as { started?: LifecycleContribution[] }).started ?? [];
    throw err;
  }
  if (options.watcher)
    await gen.watcher.start(gen.built.contributions<CacheWatch>(CacheWatch).map((c) => c.value));
}

/** Stops the plugin part of a generation; returns what did not stop in time. */
export async function stopGeneration(
  gen: Generation,
  deps: GenerationDeps,
  reason: string,
): Promise<string[]> {
  const pending: string[] = [];
  await gen.scheduler.stop();
  await gen.watcher.stop(deps.timeouts.jobsMs);
  const jobs = await deps.jobs.stop(reason, deps.timeouts.jobsMs);
  pending.push(...jobs.map((j) => `job ${j}`));
  // Async event listeners (e.g. a plugin persisting the last event atomically) finish before their
  // plugin stops, so that an exit right after leaves no half-written temp file behind.
  if (!(await within(gen.built.services.events.idle(), deps.timeouts.hooksMs)))
    pending.push('event listeners');
  const hooks = await stopContributions(gen.lifecycle, deps.timeouts.hooksMs, deps.logger);
  pending.push(...hooks.map((h) => `stop hook ${h}`));
  await disposeContainer(gen.built, deps.logger);
  return pending;
}

async function disposeContainer(built: BuiltContainer, logger: Logger): Promise<void> {
  const { container, services } = built;
  try {
    await container.unbindAllAsync();
  } catch (err) {
    logger.warn({ err }, 'unbinding the container failed');
  }
  await within(services.http.close(), 1000);
  if (services.registry.close) await within(services.registry.close(), 1000);
  services.events.clear();
}

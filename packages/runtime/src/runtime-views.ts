// What the runtime shows of itself: the /status report, the job list, the merged /metrics text and
// the state the admin listener answers from (with the network self-check's route). Read-only views
// over the runtime and its current plugin generation.
import type { Clock, Logger } from '@trivy-mirror/plugin-api';
import { Registry } from 'prom-client';
import type { AdminState } from './http/admin-server.js';
import type { ClientsSeen } from './clients/clients-seen.js';
import type { RuntimeConfig } from './config/config-schema.js';
import type { HealthRegistry } from './status/health-registry.js';
import type { JobRunnerService, RunHandle } from './jobs/job-runner.js';
import type { RuntimeMetrics } from './status/metrics.js';
import { NetworkProbes } from './network/network-probe-service.js';
import type { Generation } from './plugins/plugin-generation.js';
import { pluginListing } from './plugins/plugin-switch.js';
import type { StatusPage } from './status/status-page-service.js';
import { buildStatus, type JobStatus, jobStatuses, type StatusReport } from './status/status-report.js';

export interface RuntimeViewHost {
  readonly version: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly health: HealthRegistry;
  readonly jobs: JobRunnerService;
  readonly metrics: RuntimeMetrics;
  readonly statusPage: StatusPage;
  readonly clients: ClientsSeen;
  readonly config: RuntimeConfig;
  readonly startedAt: Date;
  /** The current plugin generation (undefined before start, after stop and while reloading). */
  readonly generation: Generation | undefined;
}

export class RuntimeViews {
  readonly #host: RuntimeViewHost;
  readonly network: NetworkProbes;

  constructor(host: RuntimeViewHost) {
    this.#host = host;
    this.network = new NetworkProbes({
      get config() {
        return host.config;
      },
      clock: host.clock,
      logger: host.logger.child({ component: 'network' }),
      userAgent: `trivy-mirror/${host.version}`,
      credentials: () => {
        const credentials = host.generation?.built.services.credentials;
        return credentials && ((registry: string) => credentials.forRegistry(registry));
      },
    });
  }

  async status(): Promise<StatusReport> {
    const host = this.#host;
    return buildStatus({
      version: host.version,
      startedAt: host.startedAt,
      now: host.clock.now(),
      readiness: await host.health.readiness(),
      jobs: this.#jobView(),
      plugins: pluginListing(host.config),
      clients: host.clients.snapshot(),
      network: this.#network(),
    });
  }

  listJobs(): JobStatus[] {
    return jobStatuses(this.#jobView());
  }

  async metricsText(): Promise<{ contentType: string; text: string }> {
    const { metrics, generation } = this.#host;
    const regs = [metrics.registry];
    if (generation) regs.push(generation.built.services.pluginMetrics);
    const merged = Registry.merge(regs);
    return { contentType: metrics.registry.contentType, text: await merged.metrics() };
  }

  adminState(): AdminState {
    const host = this.#host;
    return {
      readiness: () => host.health.readiness(),
      status: () => this.status(),
      metricsText: () => this.metricsText(),
      jobStatuses: () => this.listJobs(),
      hasJob: (id) => host.jobs.has(id),
      startJob: (id, reason): RunHandle => host.jobs.start(id, reason),
      routes: () => [
        host.statusPage.route('admin'),
        this.network.route(),
        ...(host.generation?.adminRoutes ?? []),
      ],
    };
  }

  /** Routes of the configured hosts; a config the routes cannot be read from leaves them out. */
  #network() {
    try {
      return this.network.status();
    } catch (err) {
      this.#host.logger.warn({ err }, 'cannot tell the routes of the configured hosts');
      return undefined;
    }
  }

  #jobView() {
    const { jobs } = this.#host;
    return {
      jobs: () => jobs.jobs(),
      running: (id: string) => jobs.running(id),
      lastRun: (id: string) => jobs.lastRun(id),
      nextRun: (id: string) => this.#host.generation?.scheduler.nextRun(id),
    };
  }
}

// Prometheus metrics (prom-client): one Registry per runtime with the job metrics and default process metrics.
// The job's id is the `job_id` label: `job` is Prometheus's own target label and would be renamed on scrape.
import type { Metrics } from '@trivy-mirror/plugin-api';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ClientMetricsSink } from '../clients/clients-seen.js';

export class RuntimeMetrics implements Metrics, ClientMetricsSink {
  readonly registry = new Registry();
  readonly jobRuns: Counter<'job_id' | 'status'>;
  readonly jobDuration: Histogram<'job_id'>;
  readonly jobLastSuccess: Gauge<'job_id'>;
  readonly bytesMoved: Counter<'job_id'>;
  readonly jobConsecutiveFailures: Gauge<'job_id'>;
  readonly jobLastRun: Gauge<'job_id' | 'status'>;
  readonly buildInfo: Gauge<'version'>;
  readonly clientRequests: Counter<'client' | 'version' | 'artifact' | 'code'>;
  readonly clientBytes: Counter<'client' | 'version' | 'artifact'>;
  readonly clientUnauthorized: Counter<'artifact'>;

  constructor(options: { defaultMetrics?: boolean; version?: string } = {}) {
    const registers = [this.registry];
    // Event-loop lag sampled once a second, not every 10 ms (prom-client): an idle daemon should sleep.
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 1000 });
      // Gauges named like counters (promtool rejects them); sum(nodejs_active_handles) etc. remain.
      for (const name of [
        'nodejs_active_handles_total',
        'nodejs_active_requests_total',
        'nodejs_active_resources_total',
      ])
        this.registry.removeSingleMetric(name);
    }
    this.jobRuns = new Counter({
      name: 'trivy_mirror_job_runs_total',
      help: 'Job runs by final status (success, skipped, failure).',
      labelNames: ['job_id', 'status'],
      registers,
    });
    this.jobDuration = new Histogram({
      name: 'trivy_mirror_job_duration_seconds',
      help: 'Duration of job runs.',
      labelNames: ['job_id'],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600],
      registers,
    });
    this.jobLastSuccess = new Gauge({
      name: 'trivy_mirror_job_last_success_timestamp_seconds',
      help: 'Unix time of the last successful (or skipped) run of each job.',
      labelNames: ['job_id'],
      registers,
    });
    this.bytesMoved = new Counter({
      name: 'trivy_mirror_bytes_moved_total',
      help: 'Bytes transferred or written by job runs.',
      labelNames: ['job_id'],
      registers,
    });
    this.jobConsecutiveFailures = new Gauge({
      name: 'trivy_mirror_job_consecutive_failures',
      help: 'Failed runs of each job in a row since its last success or skip (0 after a good run).',
      labelNames: ['job_id'],
      registers,
    });
    this.jobLastRun = new Gauge({
      name: 'trivy_mirror_job_last_run_timestamp_seconds',
      help: 'Unix time each job last finished, by the status of that run.',
      labelNames: ['job_id', 'status'],
      registers,
    });
    // Constant 1: `absent()` of it means the daemon (or its scrape) is down.
    this.buildInfo = new Gauge({
      name: 'trivy_mirror_build_info',
      help: 'Always 1; the daemon version is a label.',
      labelNames: ['version'],
      registers,
    });
    this.buildInfo.set({ version: options.version ?? '0.0.0' }, 1);
    // Labels bounded by ClientsSeen: at most MAX_CLIENTS versions plus 'other'.
    this.clientRequests = new Counter({
      name: 'trivy_mirror_client_requests_total',
      help: 'Requests for an artifact on the serving listener, by client (User-Agent), version and HTTP status.',
      labelNames: ['client', 'version', 'artifact', 'code'],
      registers,
    });
    this.clientBytes = new Counter({
      name: 'trivy_mirror_client_bytes_total',
      help: 'Body bytes served per client, version and artifact (complete GET 200/206 answers).',
      labelNames: ['client', 'version', 'artifact'],
      registers,
    });
    this.clientUnauthorized = new Counter({
      name: 'trivy_mirror_client_unauthorized_total',
      help: 'Requests for an artifact refused with 401 (not counted per client: the User-Agent is unauthenticated).',
      labelNames: ['artifact'],
      registers,
    });
  }

  recordClientRequest(r: {
    client: string;
    version: string;
    artifact: string;
    code: number;
    bytes: number;
  }): void {
    const labels = { client: r.client, version: r.version, artifact: r.artifact };
    this.clientRequests.inc({ ...labels, code: String(r.code) });
    this.clientBytes.inc(labels, r.bytes);
  }

  recordClientUnauthorized(artifact: string): void {
    this.clientUnauthorized.inc({ artifact });
  }

  /** Counts one finished run: runs, duration, bytes, last success, failures in a row. */
  recordRun(r: {
    jobId: string;
    status: string;
    durationMs?: number;
    bytes?: number;
    endedAt?: string;
  }): void {
    const job_id = r.jobId;
    const ended = Date.parse(r.endedAt ?? '') / 1000;
    this.jobRuns.inc({ job_id, status: r.status });
    this.jobDuration.observe({ job_id }, (r.durationMs ?? 0) / 1000);
    if (r.bytes) this.bytesMoved.inc({ job_id }, r.bytes);
    if (Number.isFinite(ended)) this.jobLastRun.set({ job_id, status: r.status }, ended);
    if (r.status === 'failure') this.jobConsecutiveFailures.inc({ job_id });
    else {
      this.jobConsecutiveFailures.set({ job_id }, 0);
      if (Number.isFinite(ended)) this.jobLastSuccess.set({ job_id }, ended);
    }
  }

  /** Registers the label set so the series exist (at zero) before the first run. */
  declareJob(job_id: string): void {
    for (const status of ['success', 'skipped', 'failure']) this.jobRuns.inc({ job_id, status }, 0);
    this.bytesMoved.inc({ job_id }, 0);
    this.jobConsecutiveFailures.inc({ job_id }, 0);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}

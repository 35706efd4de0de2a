// Runs Job contributions: never two runs of one job at once, a timeout per run through AbortSignal,
// every run recorded (last run per job), logged and counted in /metrics.
import { randomUUID } from 'node:crypto';
import {
  type Clock,
  describeError,
  errorCode,
  type Job,
  type JobOutcome,
  type JobRunner,
  type JobRunRecord,
  type Logger,
} from '@trivy-mirror/plugin-api';
import type { RuntimeMetrics } from '../status/metrics.js';

export const DEFAULT_JOB_TIMEOUT_MS = 60 * 60 * 1000;

export interface RunHandle {
  runId: string;
  /** True when the trigger joined a run already in progress. */
  joined: boolean;
  done: Promise<JobRunRecord>;
}

interface Running {
  record: JobRunRecord;
  controller: AbortController;
  done: Promise<JobRunRecord>;
}

export class JobRunnerService implements JobRunner {
  readonly #jobs = new Map<string, Job>();
  readonly #running = new Map<string, Running>();
  readonly #last = new Map<string, JobRunRecord>();
  /** Per job: the reason of an event that arrived during its run (one follow-up run). */
  readonly #followUp = new Map<string, string>();
  readonly #idleListeners: (() => void)[] = [];
  readonly #busyListeners: (() => void)[] = [];
  readonly #finishedListeners: ((record: JobRunRecord) => void)[] = [];
  #stopping = false;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly metrics?: RuntimeMetrics,
  ) {}

  /** Replaces the job set (start-up and reload). Last-run records of jobs that still exist are kept. */
  setJobs(jobs: Job[]): void {
    this.#jobs.clear();
    for (const job of jobs) {
      this.#jobs.set(job.id, job);
      this.metrics?.declareJob(job.id);
    }
    this.#stopping = false;
  }

  jobs(): Job[] {
    return [...this.#jobs.values()];
  }

  has(jobId: string): boolean {
    return this.#jobs.has(jobId);
  }

  /** True while any job runs. */
  busy(): boolean {
    return this.#running.size > 0;
  }

  isRunning(jobId: string): boolean {
    return this.#running.has(jobId);
  }

  running(jobId: string): JobRunRecord | undefined {
    return this.#running.get(jobId)?.record;
  }

  /** Calls `listener` each time the last running job ends (after its follow-up, if any, started). */
  onIdle(listener: () => void): void {
    this.#idleListeners.push(listener);
  }

  /** Called with every finished run (success, skipped, failure), after it is counted. */
  onFinished(listener: (record: JobRunRecord) => void): void {
    this.#finishedListeners.push(listener);
  }

  /** Calls `listener` each time a job starts while none was running. */
  onBusy(listener: () => void): void {
    this.#busyListeners.push(listener);
  }

  #notify(listeners: (() => void)[]): void {
    for (const listener of listeners) {
      try {
        listener();
      } catch (err) {
        this.log.warn({ err }, 'job runner listener failed');
      }
    }
  }

  lastRun(jobId: string): JobRunRecord | undefined {
    return this.#last.get(jobId);
  }

  trigger(jobId: string, reason: string): Promise<JobRunRecord> {
    return this.start(jobId, reason).done;
  }

  /** Like trigger(), but also tells the caller the run id right away (admin API). */
  start(jobId: string, reason: string): RunHandle {
    const running = this.#running.get(jobId);
    if (running) {
      // An event that arrives during a run may describe work the run has already passed over:
      // one follow-up run is queued (several such events coalesce into it), so none is lost.
      if (reason.startsWith('event:')) this.#followUp.set(jobId, reason);
      this.log.debug({ job: jobId, runId: running.record.runId, reason }, 'job already running; joining');
      return { runId: running.record.runId, joined: true, done: running.done };
    }
    const runId = randomUUID();
    const job = this.#jobs.get(jobId);
    const startedAt = this.clock.now().toISOString();
    if (!job || this.#stopping) {
      const record: JobRunRecord = {
        jobId,
        runId,
        reason,
        status: job ? 'skipped' : 'failure',
        startedAt,
        endedAt: startedAt,
        durationMs: 0,
        summary: job ? 'runtime is stopping' : undefined,
        error: job ? undefined : { code: 'JOB_UNKNOWN', message: `no job "${jobId}"` },
      };
      return { runId, joined: false, done: Promise.resolve(record) };
    }
    const controller = new AbortController();
    const record: JobRunRecord = { jobId, runId, reason, status: 'running', startedAt };
    if (this.#running.size === 0) this.#notify(this.#busyListeners);
    const done = this.#run(job, record, controller);
    this.#running.set(jobId, { record, controller, done });
    return { runId, joined: false, done };
  }

  async #run(job: Job, record: JobRunRecord, controller: AbortController): Promise<JobRunRecord> {
    const timeoutMs = job.timeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
    const timer = setTimeout(() => {
      controller.abort(new Error(`job ${job.id} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const logger = this.log.child({ job: job.id, runId: record.runId });
    const started = performance.now();
    logger.info({ reason: record.reason }, 'job started');
    let final: JobRunRecord;
    try {
      // Yield first so trigger() returns (and #running is set) before the job body runs.
      await Promise.resolve();
      const outcome = (await job.run({
        signal: controller.signal,
        logger,
        reason: record.reason,
        runId: record.runId,
      })) as JobOutcome | undefined;
      // JavaScript plugins may return 'failure' instead of throwing: honour it.
      const returned = (outcome as { status?: string } | undefined)?.status;
      final = {
        ...record,
        status: returned === 'skipped' ? 'skipped' : returned === 'failure' ? 'failure' : 'success',
        summary: outcome?.summary ?? '',
        bytes: outcome?.bytes,
        details: outcome?.details,
      };
      if (final.status === 'failure') final.error = { message: final.summary || 'job reported failure' };
    } catch (err) {
      const aborted = controller.signal.aborted;
      const why = aborted ? describeError(controller.signal.reason) : undefined;
      const message =
        aborted && why && !describeError(err).includes(why)
          ? `${why}: ${describeError(err)}`
          : describeError(err);
      final = {
        ...record,
        status: 'failure',
        summary: message,
        error: { code: errorCode(err) ?? (aborted ? 'ABORTED' : undefined), message },
        // A job that fails may still say what it did per item (oci-sync: per artifact tag).
        details: detailsOf(err),
        bytes: bytesOf(err),
      };
      // a shutdown (SIGTERM, a reload, the demo's end) that cuts a run short is not the job's fault
      if (aborted && this.#stopping) logger.warn({ reason: why }, 'job stopped by shutdown');
      else logger.error({ err }, 'job failed');
    } finally {
      clearTimeout(timer);
    }
    const ms = Math.round(performance.now() - started);
    final.endedAt = this.clock.now().toISOString();
    final.durationMs = ms;
    this.#last.set(job.id, final);
    this.#running.delete(job.id);
    this.#count(final);
    logger.info({ status: final.status, ms, summary: final.summary }, 'job finished');
    const followUp = this.#followUp.get(job.id);
    if (followUp !== undefined) {
      this.#followUp.delete(job.id);
      if (!this.#stopping) this.start(job.id, `${followUp} (queued during run ${record.runId})`);
    }
    if (this.#running.size === 0 && !this.#stopping) this.#notify(this.#idleListeners);
    return final;
  }

  #count(r: JobRunRecord): void {
    this.metrics?.recordRun(r);
    this.#notify(this.#finishedListeners.map((l) => () => l(r)));
  }

  /** Refuses new runs, aborts running ones and waits for them up to `timeoutMs`; returns the ids still running. */
  async stop(reason: string, timeoutMs: number): Promise<string[]> {
    this.#stopping = true;
    const running = [...this.#running.values()];
    for (const r of running) r.controller.abort(new Error(`runtime stopping (${reason})`));
    if (running.length === 0) return [];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(running.map((r) => r.done)),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return [...this.#running.keys()];
  }
}

function detailsOf(err: unknown): Record<string, unknown> | undefined {
  const d = (err as { details?: unknown } | null)?.details;
  return d && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, unknown>) : undefined;
}

function bytesOf(err: unknown): number | undefined {
  const b = (err as { bytes?: unknown } | null)?.bytes;
  return typeof b === 'number' ? b : undefined;
}

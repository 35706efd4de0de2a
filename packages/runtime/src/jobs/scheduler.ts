// Schedules jobs with node-cron and wires their event triggers; the JobRunner keeps runs from overlapping.
import type { EventBus, Job, Logger, MirrorEventName } from '@trivy-mirror/plugin-api';
import { MirrorError } from '@trivy-mirror/plugin-api';
import cron, { type Logger as CronLogger, type ScheduledTask } from 'node-cron';
import { cronExpressionProblem } from './cron-validation.js';
import type { JobRunnerService } from './job-runner.js';

export interface SchedulerOptions {
  /** Run jobs whose `runOnStart` is not false right after start (default true). */
  runOnStart?: boolean;
  timezone?: string;
}

/** Problems with job definitions (duplicate ids, invalid cron), checked before anything is scheduled. */
export function jobProblems(
  jobs: Job[],
  ownerOf: (job: Job) => string | undefined = () => undefined,
): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const who = (job: Job) => {
    const owner = ownerOf(job);
    return owner ? `plugin ${owner}: ` : '';
  };
  for (const job of jobs) {
    if (!job.id || typeof job.run !== 'function')
      problems.push(`${who(job)}job "${job.id ?? '?'}" has no id or run()`);
    if (seen.has(job.id)) problems.push(`${who(job)}job id "${job.id}" is contributed twice`);
    seen.add(job.id);
    if (job.schedule !== undefined) {
      const why = cronExpressionProblem(job.schedule);
      if (why)
        problems.push(`${who(job)}job "${job.id}": invalid cron expression "${job.schedule}" (${why})`);
    }
  }
  return problems;
}

export class Scheduler {
  readonly #tasks = new Map<string, ScheduledTask>();
  readonly #unsubscribe: (() => void)[] = [];

  constructor(
    private readonly runner: JobRunnerService,
    private readonly events: EventBus,
    private readonly log: Logger,
  ) {}

  start(jobs: Job[], options: SchedulerOptions = {}): void {
    const problems = jobProblems(jobs);
    if (problems.length > 0)
      throw new MirrorError('JOB_INVALID', `invalid jobs:\n  - ${problems.join('\n  - ')}`);
    for (const job of jobs) {
      if (job.schedule) {
        const task = cron.createTask(job.schedule, () => void this.runner.trigger(job.id, 'schedule'), {
          name: `trivy-mirror:${job.id}`,
          timezone: options.timezone,
          logger: this.#cronLogger(job.id),
        });
        void task.start();
        this.#tasks.set(job.id, task);
      }
      for (const name of job.triggers ?? []) {
        this.#unsubscribe.push(
          this.events.on(name as MirrorEventName, () => {
            void this.runner.trigger(job.id, `event:${name}`);
          }),
        );
      }
      this.log.debug(
        { job: job.id, schedule: job.schedule, triggers: job.triggers, nextRun: this.nextRun(job.id) },
        'job scheduled',
      );
    }
    if (options.runOnStart !== false) {
      for (const job of jobs) if (job.runOnStart !== false) void this.runner.trigger(job.id, 'start');
    }
  }

  nextRun(jobId: string): Date | undefined {
    return this.#tasks.get(jobId)?.getNextRun() ?? undefined;
  }

  /** Stops schedules and event triggers; running jobs are the runner's business. */
  async stop(): Promise<void> {
    for (const u of this.#unsubscribe.splice(0)) u();
    const tasks = [...this.#tasks.values()];
    this.#tasks.clear();
    await Promise.allSettled(tasks.map(async (t) => t.destroy()));
  }

  #cronLogger(job: string): CronLogger {
    const log = this.log.child({ job });
    return {
      info: (m) => log.debug({ cron: m }, 'cron'),
      warn: (m) => log.warn({ cron: m }, 'cron'),
      error: (m, err) => log.error({ err: err ?? m }, 'cron error'),
      debug: (m) => log.debug({ cron: String(m) }, 'cron'),
    };
  }
}

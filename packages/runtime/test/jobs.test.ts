// JobRunner and Scheduler: no overlap, timeouts through the signal, event triggers, cron, records, metrics.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Job, JobContext, JobOutcome } from '@trivy-mirror/plugin-api';
import {
  InProcessEventBus,
  JobRunnerService,
  jobProblems,
  MemoryReclaimer,
  RuntimeMetrics,
  Scheduler,
  systemClock,
} from '../src/index.js';
import { captureLogger, sleep, waitFor } from './helpers.js';

type CountingJob = Job & { runs: number; active: number; maxActive: number };

function counterJob(overrides: Partial<Job> = {}, body?: (ctx: JobContext) => Promise<void>): CountingJob {
  const job: CountingJob = {
    id: 'count',
    description: 'counts runs',
    runs: 0,
    active: 0,
    maxActive: 0,
    async run(ctx: JobContext): Promise<JobOutcome> {
      job.runs++;
      job.active++;
      job.maxActive = Math.max(job.maxActive, job.active);
      try {
        if (body) await body(ctx);
        return { status: 'success', summary: `run ${job.runs}`, bytes: 10 };
      } finally {
        job.active--;
      }
    },
    ...overrides,
  };
  return job;
}

describe('JobRunner', () => {
  test('a job never overlaps itself: a trigger while running joins the running run', async () => {
    const { logger } = captureLogger();
    const runner = new JobRunnerService(logger, systemClock);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const job = counterJob({}, () => gate);
    runner.setJobs([job]);
    const a = runner.start('count', 'test');
    const b = runner.start('count', 'test');
    assert.equal(b.joined, true);
    assert.equal(b.runId, a.runId);
    assert.equal(runner.isRunning('count'), true);
    release();
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(ra, rb);
    assert.equal(ra.status, 'success');
    assert.equal(job.runs, 1);
    assert.equal(job.maxActive, 1);
    const c = await runner.trigger('count', 'again');
    assert.notEqual(c.runId, ra.runId);
    assert.equal(job.runs, 2);
    assert.equal(runner.lastRun('count')?.runId, c.runId);
  });

  test('events that arrive during a run queue one follow-up run (coalesced), never an overlap', async () => {
    const { logger } = captureLogger();
    const runner = new JobRunnerService(logger, systemClock);
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const job = counterJob({}, () => gate);
    runner.setJobs([job]);
    const first = runner.start('count', 'event:artifact.stored');
    runner.start('count', 'event:artifact.stored');
    runner.start('count', 'event:vex.stored');
    const firstRelease = release;
    gate = Promise.resolve();
    firstRelease();
    await first.done;
    await waitFor(() => job.runs === 2 && !runner.isRunning('count'), 2000);
    await sleep(50);
    assert.equal(job.runs, 2, 'two events during the run give one follow-up, not two');
    assert.equal(job.maxActive, 1);
    assert.match(runner.lastRun('count')?.reason ?? '', /^event:vex\.stored \(queued during run /);
    // A manual trigger while running joins without a follow-up.
    let release2!: () => void;
    gate = new Promise<void>((r) => (release2 = r));
    const third = runner.start('count', 'admin');
    runner.start('count', 'admin');
    release2();
    await third.done;
    await sleep(50);
    assert.equal(job.runs, 3);
  });

  test('onIdle fires once the last running job ends, not while another still runs', async () => {
    const { logger } = captureLogger();
    const runner = new JobRunnerService(logger, systemClock);
    let releaseA!: () => void;
    let releaseB!: () => void;
    const a = counterJob({ id: 'a' }, () => new Promise<void>((r) => (releaseA = r)));
    const b = counterJob({ id: 'b' }, () => new Promise<void>((r) => (releaseB = r)));
    runner.setJobs([a, b]);
    let idle = 0;
    runner.onIdle(() => idle++);
    const ra = runner.start('a', 'admin');
    const rb = runner.start('b', 'admin');
    await waitFor(() => a.runs === 1 && b.runs === 1, 2000);
    releaseA();
    await ra.done;
    assert.equal(idle, 0, 'b still runs');
    releaseB();
    await rb.done;
    assert.equal(idle, 1);
  });

  test('MemoryReclaimer runs one full collection after the bursts stop', async () => {
    const reclaimer = new MemoryReclaimer(30);
    reclaimer.schedule();
    await sleep(10);
    reclaimer.schedule();
    reclaimer.schedule();
    await sleep(120);
    assert.equal(reclaimer.runs, 1, 'debounced into one collection');
    reclaimer.schedule();
    reclaimer.cancel();
    await sleep(80);
    assert.equal(reclaimer.runs, 1, 'a cancelled collection does not run');
    let busy = true;
    const waiting = new MemoryReclaimer(20, () => busy);
    waiting.schedule();
    await sleep(60);
    assert.equal(waiting.runs, 0, 'no collection while a job runs');
    busy = false;
    waiting.schedule();
    await sleep(60);
    assert.equal(waiting.runs, 1);
  });

  test('the timeout aborts the run through its signal and the run fails with the reason', async () => {
    const { logger, lines } = captureLogger();
    const runner = new JobRunnerService(logger, systemClock);
    let sawAbort = false;
    runner.setJobs([
      counterJob({ id: 'slow', timeoutMs: 150 }, (ctx) => {
        return new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(ctx.signal.reason);
          });
        });
      }),
    ]);
    const t = Date.now();
    const rec = await runner.trigger('slow', 'test');
    assert.ok(Date.now() - t < 2000);
    assert.equal(sawAbort, true);
    assert.equal(rec.status, 'failure');
    assert.match(rec.error!.message, /timed out after 150 ms/);
    const finished = lines.find((l) => l.msg === 'job finished');
    assert.equal(finished?.status, 'failure');
    assert.equal(finished?.job, 'slow');
    const failed = lines.find((l) => l.msg === 'job failed') as { err?: { message: string } };
    assert.ok(failed?.err?.message);
  });

  test('skipped, thrown failures, unknown jobs; metrics counted', async () => {
    const { logger } = captureLogger();
    const metrics = new RuntimeMetrics({ defaultMetrics: false });
    const runner = new JobRunnerService(logger, systemClock, metrics);
    runner.setJobs([
      { id: 'skip', description: '', run: async () => ({ status: 'skipped', summary: 'nothing changed' }) },
      {
        id: 'boom',
        description: '',
        run: async () => {
          throw Object.assign(new Error('upstream down'), { code: 'NETWORK' });
        },
      },
      counterJob(),
    ]);
    assert.equal((await runner.trigger('skip', 't')).status, 'skipped');
    const boom = await runner.trigger('boom', 't');
    assert.equal(boom.status, 'failure');
    assert.deepEqual(boom.error, { code: 'NETWORK', message: 'upstream down' });
    await runner.trigger('count', 't');
    const unknown = await runner.trigger('nope', 't');
    assert.equal(unknown.status, 'failure');
    assert.equal(unknown.error?.code, 'JOB_UNKNOWN');
    const text = await metrics.text();
    assert.match(text, /trivy_mirror_job_runs_total\{job_id="skip",status="skipped"\} 1/);
    assert.match(text, /trivy_mirror_job_runs_total\{job_id="boom",status="failure"\} 1/);
    assert.match(text, /trivy_mirror_bytes_moved_total\{job_id="count"\} 10/);
    assert.match(text, /trivy_mirror_job_duration_seconds_count\{job_id="count"\} 1/);
  });

  test('stop() aborts running jobs and waits for them (bounded); the cut run is a warning, not an error', async () => {
    const { logger, lines } = captureLogger();
    const runner = new JobRunnerService(logger, systemClock);
    runner.setJobs([
      counterJob(
        { id: 'polite' },
        (ctx) => new Promise((_, rej) => ctx.signal.addEventListener('abort', () => rej(ctx.signal.reason))),
      ),
      counterJob({ id: 'stubborn' }, () => sleep(3000)),
    ]);
    const polite = runner.trigger('polite', 't');
    void runner.trigger('stubborn', 't');
    await sleep(20);
    const t = Date.now();
    const left = await runner.stop('test', 300);
    assert.ok(Date.now() - t < 1000);
    assert.deepEqual(left, ['stubborn']);
    assert.equal((await polite).status, 'failure');
    assert.equal((await runner.trigger('polite', 'after stop')).status, 'skipped');
    const stopped = lines.find((l) => l.msg === 'job stopped by shutdown');
    assert.equal(stopped?.level, 40);
    assert.equal(stopped?.job, 'polite');
    assert.match(String(stopped?.reason), /runtime stopping \(test\)/);
    assert.equal(lines.filter((l) => l.msg === 'job failed').length, 0);
  });
});

describe('Scheduler', () => {
  test('event triggers run the job; runOnStart runs it once; a cron schedule fires', async () => {
    const { logger } = captureLogger();
    const runner = new JobRunnerService(logger, systemClock);
    const events = new InProcessEventBus(logger);
    const onEvent = counterJob({ id: 'on-event', runOnStart: false, triggers: ['artifact.stored'] });
    const onStart = counterJob({ id: 'on-start' });
    const everySecond = counterJob({ id: 'cron', runOnStart: false, schedule: '* * * * * *' });
    runner.setJobs([onEvent, onStart, everySecond]);
    const scheduler = new Scheduler(runner, events, logger);
    scheduler.start([onEvent, onStart, everySecond]);
    try {
      assert.ok(scheduler.nextRun('cron') instanceof Date);
      assert.equal(scheduler.nextRun('on-event'), undefined);
      await waitFor(() => onStart.runs === 1);
      assert.equal(onEvent.runs, 0);
      events.emit('artifact.stored', {
        repository: 'trivy-db',
        tag: '2',
        digest: 'sha256:x',
        layer: { digest: 'sha256:y', mediaType: 'm', size: 1 },
        layoutPath: '/x',
        changed: true,
      });
      await waitFor(() => onEvent.runs === 1);
      assert.equal(runner.lastRun('on-event')?.reason, 'event:artifact.stored');
      await waitFor(() => everySecond.runs >= 1, 2500);
      assert.equal(runner.lastRun('cron')?.reason ?? runner.running('cron')?.reason, 'schedule');
    } finally {
      await scheduler.stop();
    }
    const runs = everySecond.runs;
    await sleep(1200);
    assert.equal(everySecond.runs, runs, 'no runs after stop');
  });

  test('invalid cron expressions and duplicate ids are reported by name', () => {
    const problems = jobProblems([
      counterJob({ id: 'a', schedule: 'every day' }),
      counterJob({ id: 'b' }),
      counterJob({ id: 'b' }),
    ]);
    assert.equal(problems.length, 2);
    assert.match(problems[0], /job "a": invalid cron expression "every day"/);
    assert.match(problems[1], /"b" is contributed twice/);
  });
});

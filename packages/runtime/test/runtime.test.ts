// The runtime in-process with tiny plugins: admin endpoints, readiness across the lifecycle, job triggers,
// metrics, start-up failures, stop bounds and reload.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  definePlugin,
  HealthCheck,
  HttpRoute,
  Job,
  type JobContext,
  LifecycleContribution,
  PluginError,
  RuntimeSettings,
} from '@trivy-mirror/plugin-api';
import { ContainerModule } from 'inversify';
import { z } from 'zod';
import { createRuntime, type Runtime, StartupError } from '../src/index.js';
import { asLoaded, captureLogger, http, sleep, tempDir, testConfig, waitFor } from './helpers.js';

/** State the test plugin exposes to the test. */
const probe = {
  runs: 0,
  ready: false,
  startedHooks: 0,
  stoppedHooks: 0,
  aborted: 0,
  /** Delay between the abort and the run giving up (to observe the stopping phase over HTTP). */
  lingerMs: 0,
  gate: undefined as Promise<void> | undefined,
  settings: undefined as RuntimeSettings | undefined,
};

const counterPlugin = definePlugin({
  id: 'counter',
  description: 'counts job runs; has a health check, routes and hooks',
  configSchema: z.strictObject({ label: z.string().default('count') }),
  module: (config) =>
    new ContainerModule(({ bind }) => {
      bind(Job).toResolvedValue(
        (settings: RuntimeSettings) => {
          probe.settings = settings;
          return {
            id: config.label,
            description: 'counts runs',
            runOnStart: false,
            async run(ctx: JobContext) {
              probe.runs++;
              if (probe.gate) {
                await Promise.race([
                  probe.gate,
                  new Promise<void>((_, rej) =>
                    ctx.signal.addEventListener('abort', () => {
                      probe.aborted++;
                      setTimeout(() => rej(ctx.signal.reason), probe.lingerMs);
                    }),
                  ),
                ]);
              }
              return { status: 'success' as const, summary: `run ${probe.runs}`, bytes: 42 };
            },
          };
        },
        [RuntimeSettings],
      );
      bind(HealthCheck).toConstantValue({
        id: 'counter',
        check: () => ({
          ready: probe.ready,
          reason: probe.ready ? undefined : 'warming up',
          status: { runs: probe.runs },
        }),
      });
      bind<HttpRoute>(HttpRoute).toConstantValue({
        id: 'counter-admin',
        listener: 'admin',
        prefix: '/counter',
        handle: (_req, res) => {
          res.end(String(probe.runs));
          return true;
        },
      });
      bind(LifecycleContribution).toConstantValue({
        id: 'counter-hooks',
        async start() {
          probe.startedHooks++;
        },
        async stop() {
          probe.stoppedHooks++;
        },
      });
    }),
});

function failingPlugin(id: string, message: string) {
  return definePlugin({
    id,
    description: 'fails to start',
    configSchema: z.object({}),
    module: () =>
      new ContainerModule(({ bind }) => {
        bind(LifecycleContribution).toConstantValue({
          id: `${id}-hook`,
          start: async () => {
            throw new Error(message);
          },
        });
      }),
  });
}

/** Parses Prometheus text: TYPE lines and samples. */
function parseProm(text: string) {
  const types = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      types.set(t[1], t[2]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { types, samples };
}

describe('runtime', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let runtime: Runtime;
  let admin: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir('rt-runtime-'));
    const plugins = [counterPlugin] as never[];
    const config = testConfig(dir, {}, plugins);
    runtime = createRuntime({
      config,
      plugins: asLoaded(config, plugins),
      logger: captureLogger().logger,
      version: '1.2.3',
    });
    const starting = runtime.start();
    // Liveness answers as soon as the admin listener is up, before plugins finish.
    await waitFor(() => runtime.adminUrl);
    admin = runtime.adminUrl!;
    const live = await http(`${admin}/healthz`);
    assert.equal(live.status, 200);
    assert.deepEqual(live.json(), { status: 'ok' });
    await starting;
  });
  after(async () => {
    await runtime.stop('test end');
    await cleanup();
  });

  test('plugins got their context: settings, pluginDir, start hook', () => {
    assert.equal(probe.startedHooks, 1);
    assert.equal(probe.settings?.stateDir, dir);
    assert.equal(probe.settings?.mode, 'daemon');
  });

  test('/readyz is 503 with reasons until every check is ready, then 200', async () => {
    const r = await http(`${admin}/readyz`);
    assert.equal(r.status, 503);
    assert.deepEqual((r.json() as { reasons: string[] }).reasons, ['counter: warming up']);
    probe.ready = true;
    const ok = await http(`${admin}/readyz`);
    assert.equal(ok.status, 200);
    assert.equal((ok.json() as { status: string }).status, 'ready');
  });

  test('POST /jobs/NAME/run starts a run (202 + run id), joins a running one, 404 for unknown jobs', async () => {
    let release!: () => void;
    probe.gate = new Promise((r) => (release = r));
    const before = probe.runs;
    const a = await http(`${admin}/jobs/count/run`, { method: 'POST' });
    assert.equal(a.status, 202);
    const ja = a.json() as { runId: string; joined: boolean };
    assert.match(ja.runId, /^[0-9a-f-]{36}$/);
    assert.equal(ja.joined, false);
    const b = await http(`${admin}/jobs/count/run`, { method: 'POST' });
    assert.equal(b.status, 202);
    assert.deepEqual(b.json(), { job: 'count', runId: ja.runId, joined: true });
    const list = (await http(`${admin}/jobs`)).json() as { jobs: { id: string; running: boolean }[] };
    assert.deepEqual(
      list.jobs.map((j) => [j.id, j.running]),
      [['count', true]],
    );
    release();
    probe.gate = undefined;
    await waitFor(() => runtime.jobs.lastRun('count')?.runId === ja.runId);
    assert.equal(probe.runs, before + 1);
    assert.equal((await http(`${admin}/jobs/nope/run`, { method: 'POST' })).status, 404);
    assert.equal((await http(`${admin}/jobs/count/run`)).status, 405);
  });

  test('/status has version, uptime, readiness, jobs and components', async () => {
    const s = (await http(`${admin}/status`)).json() as Record<string, unknown> & {
      jobs: Record<string, unknown>[];
      components: Record<string, Record<string, unknown>>;
    };
    assert.equal(s.version, '1.2.3');
    assert.equal(typeof s.startedAt, 'string');
    assert.equal(typeof s.uptimeSeconds, 'number');
    assert.equal(s.ready, true);
    assert.deepEqual(s.reasons, []);
    assert.equal(s.jobs[0].id, 'count');
    assert.equal(s.jobs[0].description, 'counts runs');
    assert.equal(s.jobs[0].running, false);
    assert.equal((s.jobs[0].lastRun as { status: string }).status, 'success');
    assert.equal(s.components.counter.ready, true);
    assert.equal(typeof s.components.counter.runs, 'number');
  });

  test('/metrics is Prometheus text with the job metrics and process metrics', async () => {
    const r = await http(`${admin}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
    const { types, samples } = parseProm(r.text);
    assert.equal(types.get('trivy_mirror_job_runs_total'), 'counter');
    assert.equal(types.get('trivy_mirror_job_duration_seconds'), 'histogram');
    assert.equal(types.get('trivy_mirror_job_last_success_timestamp_seconds'), 'gauge');
    assert.equal(types.get('trivy_mirror_bytes_moved_total'), 'counter');
    assert.ok(types.has('process_cpu_user_seconds_total'));
    const runs = samples.find(
      (s) =>
        s.name === 'trivy_mirror_job_runs_total' &&
        s.labels.job_id === 'count' &&
        s.labels.status === 'success',
    );
    assert.ok(runs && runs.value >= 1);
    const bytes = samples.find(
      (s) => s.name === 'trivy_mirror_bytes_moved_total' && s.labels.job_id === 'count',
    );
    assert.ok(bytes && bytes.value >= 42);
    const last = samples.find((s) => s.name === 'trivy_mirror_job_last_success_timestamp_seconds');
    assert.ok(last && Math.abs(last.value - Date.now() / 1000) < 60);
  });

  test('admin routes from contributions; JSON 404', async () => {
    const r = await http(`${admin}/counter`);
    assert.equal(r.status, 200);
    assert.equal(r.text, String(probe.runs));
    const nf = await http(`${admin}/nothing-here`);
    assert.equal(nf.status, 404);
    assert.equal((nf.json() as { error: string }).error, 'not found');
  });

  test('reload restarts the plugin part with the new config and keeps the listener', async () => {
    const plugins = [counterPlugin] as never[];
    const config = testConfig(dir, { plugins: { counter: { label: 'count2' } } }, plugins);
    const hooks = probe.stoppedHooks;
    await runtime.reload(config, asLoaded(config, plugins));
    assert.equal(probe.stoppedHooks, hooks + 1);
    assert.equal(probe.startedHooks, 2);
    assert.equal(runtime.adminUrl, admin);
    const list = (await http(`${admin}/jobs`)).json() as { jobs: { id: string }[] };
    assert.deepEqual(
      list.jobs.map((j) => j.id),
      ['count2'],
    );
    assert.equal((await http(`${admin}/readyz`)).status, 200);
  });

  test('a reload whose plugins fail to start restores the previous generation', async () => {
    const bad = [counterPlugin, failingPlugin('gamma', 'cannot bind')] as never[];
    const config = testConfig(dir, { plugins: { counter: { label: 'count3' } } }, bad);
    await assert.rejects(
      runtime.reload(config, asLoaded(config, bad)),
      /plugin gamma: start of gamma-hook failed: cannot bind/,
    );
    const list = (await http(`${admin}/jobs`)).json() as { jobs: { id: string }[] };
    assert.deepEqual(
      list.jobs.map((j) => j.id),
      ['count2'],
    );
    assert.equal(runtime.phase, 'running');
    assert.equal((await http(`${admin}/readyz`)).status, 200);
  });
});

describe('runtime stop', () => {
  test('readiness goes 503 at stop, running jobs are aborted, stop() is bounded', async () => {
    const { dir, cleanup } = await tempDir('rt-stop-');
    try {
      const plugins = [counterPlugin] as never[];
      const config = testConfig(dir, {}, plugins);
      const runtime = createRuntime({
        config,
        plugins: asLoaded(config, plugins),
        logger: captureLogger().logger,
        timeouts: { stopMs: 3000 },
      });
      await runtime.start();
      probe.ready = true;
      const admin = runtime.adminUrl!;
      assert.equal((await http(`${admin}/readyz`)).status, 200);
      probe.gate = new Promise(() => {}); // never released: only the abort ends it
      const aborted = probe.aborted;
      probe.lingerMs = 400;
      const run = runtime.jobs.trigger('count', 'test');
      await sleep(20);
      const stopping = runtime.stop('test');
      assert.equal(runtime.phase, 'stopping');
      // The admin listener stays up while jobs wind down, answering 503.
      const r = await http(`${admin}/readyz`);
      assert.equal(r.status, 503);
      assert.deepEqual((r.json() as { reasons: string[] }).reasons.slice(0, 1), ['runtime is stopping']);
      const t = Date.now();
      const result = await stopping;
      assert.ok(Date.now() - t < 3000);
      assert.equal(result.clean, true, JSON.stringify(result.pending));
      assert.equal(probe.aborted, aborted + 1);
      assert.equal((await run).status, 'failure');
      assert.equal(runtime.phase, 'stopped');
      await assert.rejects(fetch(`${admin}/healthz`));
      probe.gate = undefined;
      probe.lingerMs = 0;
    } finally {
      await cleanup();
    }
  });

  test('stop() during start-up aborts the start hooks and ends stopped', async () => {
    const { dir, cleanup } = await tempDir('rt-abort-');
    try {
      let hookSignal: AbortSignal | undefined;
      const slow = definePlugin({
        id: 'slow',
        description: 'start hook waits for its signal',
        configSchema: z.object({}),
        module: () =>
          new ContainerModule(({ bind }) => {
            bind<LifecycleContribution>(LifecycleContribution).toConstantValue({
              id: 'slow-hook',
              start: (signal) =>
                new Promise<void>((_, reject) => {
                  hookSignal = signal;
                  signal.addEventListener('abort', () => reject(signal.reason));
                }),
            });
          }),
      });
      const plugins = [slow] as never[];
      const config = testConfig(dir, {}, plugins);
      const runtime = createRuntime({
        config,
        plugins: asLoaded(config, plugins),
        logger: captureLogger().logger,
      });
      const starting = runtime.start();
      await waitFor(() => hookSignal);
      const t = Date.now();
      const result = await runtime.stop('signal');
      assert.ok(Date.now() - t < 2000);
      assert.equal(result.clean, true);
      assert.equal(hookSignal?.aborted, true);
      await assert.rejects(starting);
      assert.equal(runtime.phase, 'stopped');
      assert.equal(runtime.adminUrl, undefined);
    } finally {
      await cleanup();
    }
  });

  test('an invalid cron schedule stops start-up before any start hook, naming plugin and job', async () => {
    const { dir, cleanup } = await tempDir('rt-cron-');
    try {
      const badCron = definePlugin({
        id: 'bad-cron',
        description: 'a job with a broken schedule',
        configSchema: z.object({}),
        module: () =>
          new ContainerModule(({ bind }) => {
            bind<Job>(Job).toConstantValue({
              id: 'broken-schedule',
              description: '',
              schedule: '61 * * * *',
              run: async () => ({ status: 'success', summary: '' }),
            });
          }),
      });
      const plugins = [counterPlugin, badCron] as never[];
      const config = testConfig(dir, {}, plugins);
      const runtime = createRuntime({
        config,
        plugins: asLoaded(config, plugins),
        logger: captureLogger().logger,
      });
      const hooks = probe.startedHooks;
      await assert.rejects(
        runtime.start(),
        /plugin bad-cron: job "broken-schedule": invalid cron expression "61 \* \* \* \*"/,
      );
      assert.equal(probe.startedHooks, hooks);
      assert.equal(runtime.phase, 'stopped');
    } finally {
      await cleanup();
    }
  });

  test('start hook failures from several plugins are thrown together with the plugin names', async () => {
    const { dir, cleanup } = await tempDir('rt-fail-');
    try {
      const plugins = [
        failingPlugin('alpha', 'no database'),
        counterPlugin,
        failingPlugin('beta', 'port taken'),
      ] as never[];
      const config = testConfig(dir, {}, plugins);
      const runtime = createRuntime({
        config,
        plugins: asLoaded(config, plugins),
        logger: captureLogger().logger,
      });
      const err = await runtime.start().then(
        () => assert.fail('start should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof StartupError);
      assert.ok(err instanceof PluginError);
      assert.deepEqual(
        err.errors.map((e) => e.plugin),
        ['alpha', 'beta'],
      );
      assert.match(err.message, /plugin alpha: start of alpha-hook failed: no database/);
      assert.match(err.message, /plugin beta: start of beta-hook failed: port taken/);
      assert.equal(runtime.phase, 'stopped');
      assert.equal(runtime.adminUrl, undefined, 'admin listener closed after a failed start');
    } finally {
      await cleanup();
    }
  });
});

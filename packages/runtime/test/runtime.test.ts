// The runtime in-process with tiny plugins: admin endpoints, readiness across the lifecycle, job triggers,
// metrics and reload (stop and start-up failures: runtime-stop.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRuntime, type Runtime } from '../src/index.js';
import { asLoaded, captureLogger, http, tempDir, testConfig, waitFor } from './helpers.js';

import { counterPlugin, failingPlugin, parseProm, probe } from './runtime-test-plugins.js';

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
    const a = await http(`${admin}/jobs/count/run`, { method: 'POST', headers: { 'x-trivy-mirror': '1' } });
    assert.equal(a.status, 202);
    const ja = a.json() as { runId: string; joined: boolean };
    assert.match(ja.runId, /^[0-9a-f-]{36}$/);
    assert.equal(ja.joined, false);
    const b = await http(`${admin}/jobs/count/run`, { method: 'POST', headers: { 'x-trivy-mirror': '1' } });
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
    assert.equal(
      (await http(`${admin}/jobs/nope/run`, { method: 'POST', headers: { 'x-trivy-mirror': '1' } })).status,
      404,
    );
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

// The built daemon as a process: `enabled: false` on builtin and external plugins (an external module
// is not even imported), empty lists that leave a plugin idle and ready, and SIGHUP reloads that are
// refused (by the pre-flight, or when the new generation cannot start) keep the old config without
// re-running its jobs.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getStatus, waitReady } from './helpers/admin-api.js';
import { type DaemonProcess, eventually, freePort, runCli, startDaemon } from './helpers/daemon-process.js';
import { startVexServer, type VexServer } from './helpers/vex-server.js';

interface PluginJson {
  id: string;
  source: string;
  enabled: boolean;
}
interface JobJson {
  id: string;
  lastRun?: { runId: string; status: string; summary?: string };
}

const jobStarts = (d: DaemonProcess) => d.logs().filter((l) => l.msg === 'job started').length;

describe('plugin switches, idle plugins and refused reloads (built daemon)', { timeout: 120_000 }, () => {
  let dir: string;
  let vex: VexServer;
  const started: DaemonProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-e2e-switches-'));
    vex = await startVexServer();
  });

  after(async () => {
    for (const d of started) await d.stop('SIGKILL').catch(() => {});
    await vex?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('enabled: false and empty lists: nothing loaded or imported, idle plugins ready, listed as disabled', async () => {
    const marker = join(dir, 'imported.marker');
    const plugin = join(dir, 'marks-on-import.mjs');
    await writeFile(
      plugin,
      `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'imported');\nthrow new Error('must not be imported');\n`,
    );
    const adminPort = await freePort();
    const cfg = join(dir, 'switches.yaml');
    await writeFile(
      cfg,
      `stateDir: ${dir}/state-a
admin: { listen: 127.0.0.1:${adminPort} }
log: { level: info, format: json }
plugins:
  auth-providers: { enabled: false, dockerConfig: false }
  oci-sync: { artifacts: [] }
  vexhub-mirror: { repositories: [] }
  cache-populator: { targets: [] }
  external:
    - { module: ${plugin}, enabled: false }
    - { module: '@trivy-mirror/example-plugin-webhook', enabled: false, options: { url: http://127.0.0.1:1/hook } }
`,
    );
    const check = await runCli(['config', 'check', '--config', cfg], { timeoutMs: 20_000 });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /warning: this config does nothing/);
    const d = await startDaemon({
      args: ['run', '--config', cfg],
      adminUrl: `http://127.0.0.1:${adminPort}`,
    });
    started.push(d);
    await waitReady(d, 15_000);
    assert.ok(
      d.logs().some((l) => /this config does nothing/.test(String(l.msg))),
      'run warns too',
    );
    const status = (await getStatus(d)) as { plugins: PluginJson[]; jobs: JobJson[]; components: object };
    assert.deepEqual(
      status.plugins.map((p) => [p.id, p.enabled]),
      [
        ['auth-providers', false],
        ['oci-sync', true],
        ['vexhub-mirror', true],
        ['cache-populator', true],
        [plugin, false],
        ['@trivy-mirror/example-plugin-webhook', false],
      ],
    );
    assert.equal(
      await stat(marker).catch(() => undefined),
      undefined,
      'the disabled module was not imported',
    );
    assert.ok(!('auth-providers' in status.components), 'a disabled plugin contributes nothing');
    // The idle jobs ran at start and did nothing.
    const jobs = await eventually(
      async () => {
        const s = (await getStatus(d)) as { jobs: JobJson[] };
        return s.jobs.every((j) => j.lastRun) && s.jobs;
      },
      10_000,
      'the start runs',
    );
    assert.deepEqual(jobs.map((j) => j.id).sort(), ['cache-populator', 'oci-sync', 'vexhub-mirror']);
    for (const j of jobs) assert.equal(j.lastRun?.status, 'skipped', `${j.id}: ${j.lastRun?.summary}`);
    assert.match(jobs.find((j) => j.id === 'oci-sync')!.lastRun!.summary!, /no artifacts configured/);
    assert.match(jobs.find((j) => j.id === 'vexhub-mirror')!.lastRun!.summary!, /no repositories configured/);

    const text = await runCli(['status', '--admin', d.adminUrl], { timeoutMs: 20_000 });
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /plugins {2}oci-sync, vexhub-mirror, cache-populator {2}\(disabled: auth-providers, [^\n]*marks-on-import\.mjs, @trivy-mirror\/example-plugin-webhook\)/,
    );
    const r = await d.stop();
    assert.equal(r.code, 0);
  });

  test('a refused SIGHUP reload keeps the old config and runs no job again', async () => {
    const adminPort = await freePort();
    const servePort = await freePort();
    const cfg = join(dir, 'reload.yaml');
    const config = (extra: { serve?: string; auth?: string } = {}) => `stateDir: ${dir}/state-b
admin: { listen: 127.0.0.1:${adminPort} }
serve: { listen: ${extra.serve ?? `127.0.0.1:${servePort}`}, publicUrl: http://127.0.0.1:${servePort} }
log: { level: info, format: json }
plugins:
  auth-providers: ${extra.auth ?? '{ dockerConfig: false }'}
  oci-sync: { enabled: false }
  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }
  cache-populator: { targets: [{ dir: ${dir}/cache-b, include: [vex] }] }
`;
    await writeFile(cfg, config());
    const d = await startDaemon({
      args: ['run', '--config', cfg],
      adminUrl: `http://127.0.0.1:${adminPort}`,
    });
    started.push(d);
    await waitReady(d, 30_000);
    const runsBefore = jobStarts(d);
    assert.ok(runsBefore >= 2, `start runs: ${runsBefore}`);
    const lastRuns = async () =>
      ((await getStatus(d)) as { jobs: JobJson[] }).jobs.map((j) => `${j.id}:${j.lastRun?.runId}`).sort();
    const before = await lastRuns();
    const vexUrl = `http://127.0.0.1:${servePort}/.well-known/vex-repository.json`;
    assert.equal((await fetch(vexUrl)).status, 200);

    // 1. The pre-flight refuses (a secret file is missing): the running generation is not touched.
    await writeFile(
      cfg,
      config({
        auth: `{ dockerConfig: false, credentials: [{ url: ${vex.url}/, username: bot, passwordFile: ${dir}/missing }] }`,
      }),
    );
    d.child.kill('SIGHUP');
    const refused = await d.waitForLog((l) => /reload failed/.test(String(l.msg)), 10_000);
    assert.match(String(refused.msg), /plugins\.auth-providers\.credentials\[0\]\.passwordFile \(line 6\b/);
    assert.ok(
      !d.logs().some((l) => l.msg === 'reloading configuration'),
      'the old generation was not stopped',
    );

    // 2. The new generation cannot start (its serve port is taken): the old one comes back, without re-runs.
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const taken = (blocker.address() as { port: number }).port;
    try {
      await writeFile(cfg, config({ serve: `127.0.0.1:${taken}` }));
      d.child.kill('SIGHUP');
      await d.waitForLog((l) => /restoring the previous one/.test(String(l.msg)), 10_000);
      await d.waitForLog((l) => l.msg === 'reload failed' || /reload failed/.test(String(l.msg)), 10_000);
      await waitReady(d, 10_000);
      assert.equal((await fetch(vexUrl)).status, 200, 'the old serve listener is back');
    } finally {
      blocker.close();
    }
    // Give a re-run the time to show up, then check none did.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(jobStarts(d), runsBefore, 'no job ran again');
    assert.deepEqual(await lastRuns(), before);
    const r = await d.stop();
    assert.equal(r.code, 0);
  });
});

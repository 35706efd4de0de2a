// End to end, for the people on call: the built daemon as a process, its status page read by headless
// Chromium (a page without scripts) in three states: ready, failing (upstream and VEX source stopped), a
// stale cache dir, with `trivy-mirror status` saying the same verdict and exiting with its code. Asserts
// what a person reads, that no credential ever shows, that the history survives a restart; `promtool
// check metrics` on the live /metrics, and the alert rules and dashboard use only metric names the daemon
// exports. Screenshots stay in the test's temp dir (kept when TM_KEEP=1).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  generateVexRepository,
  type RunningRegistry,
  seedUpstream,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { dumpDom, screenshot, visibleText } from './helpers/chromium.js';
import {
  type DaemonProcess,
  eventually,
  freePort,
  repoRoot,
  runCli,
  startDaemon,
} from './helpers/daemon-process.js';
import { alertRules, dashboardExprs } from './helpers/deploy-files.js';
import {
  documentedSelectors,
  documentedTable,
  exportedLabels,
  exportedNames,
  metricNames,
} from './helpers/promql-names.js';
import { startVexServer, type VexServer } from './helpers/vex-server.js';

const PUSH_USER = 'mirror-bot';
const PUSH_SECRET = `pw-${randomBytes(12).toString('hex')}`;
const SERVE_TOKEN = `tok-${randomBytes(12).toString('hex')}`;
const POST = { method: 'POST', headers: { 'x-trivy-mirror': 'test' } };

interface StatusJson {
  ready: boolean;
  verdict: { state: string; reasons: string[] };
}

interface Job {
  id: string;
  running: boolean;
  lastRun?: { runId: string; status: string };
}

async function promtoolCheckMetrics(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
    child.stdin!.end(text);
  });
}

describe('status page, metrics and alerts against the built daemon', { timeout: 240_000 }, () => {
  let dir: string;
  let upstream: RunningRegistry;
  let staleUpstream: RunningRegistry;
  let destination: RunningRegistry;
  let vex: VexServer;
  const started: DaemonProcess[] = [];
  let daemon: DaemonProcess;
  let adminUrl: string;
  let serveUrl: string;
  let configPath: string;

  const jobs = async (url: string) => ((await (await fetch(`${url}/status`)).json()) as { jobs: Job[] }).jobs;
  const page = async (url: string, name: string) => {
    const dom = await dumpDom(`${url}/`);
    assert.doesNotMatch(dom, /<script/i, 'server-rendered, no scripts');
    const shot = join(dir, `status-${name}.png`);
    await screenshot(`${url}/`, shot);
    assert.ok((await stat(shot)).size > 10_000, `screenshot ${shot}`);
    for (const secret of [PUSH_SECRET, SERVE_TOKEN])
      assert.ok(!dom.includes(secret), `${name}: a credential appears in the page`);
    // The footer's legend names every state; what the page says is before it.
    return { dom, text: visibleText(dom).split(' states: ')[0]! };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-e2e-status-page-'));
    [upstream, staleUpstream, destination, vex] = await Promise.all([
      startRegistry(),
      startRegistry(),
      startRegistry({ htpasswd: [{ username: PUSH_USER, password: PUSH_SECRET }] }),
      startVexServer(),
    ]);
    const day = 86_400_000;
    // The shipped VEX Hub snapshot is months old (rightly STALE); a ready mirror needs a fresh index.
    const freshVex = await generateVexRepository({
      dir: join(dir, 'vex'),
      format: 'zip',
      seed: 'status-page',
    });
    vex.setArchive('zip', await readFile(freshVex.archivePath));
    await Promise.all([
      seedUpstream({
        registryUrl: upstream.url,
        workDir: join(dir, 'seed'),
        dbBytes: 64 * 1024,
        javaDbBytes: 64 * 1024,
        seed: 'status-page',
      }),
      // Published three days ago, NextUpdate two days ago: whatever holds it is stale.
      seedUpstream({
        registryUrl: staleUpstream.url,
        workDir: join(dir, 'seed-stale'),
        dbBytes: 64 * 1024,
        javaDbBytes: 64 * 1024,
        seed: 'status-page-stale',
        updatedAt: new Date(Math.floor((Date.now() - 3 * day) / 1000) * 1000),
        nextUpdate: new Date(Math.floor((Date.now() - 2 * day) / 1000) * 1000),
      }),
    ]);
  });

  after(async () => {
    for (const d of started) await d.stop('SIGKILL').catch(() => {});
    await Promise.allSettled([upstream?.stop(), staleUpstream?.stop(), destination?.stop(), vex?.close()]);
    if (dir && process.env.TM_KEEP !== '1') await rm(dir, { recursive: true, force: true });
    else if (dir) console.log(`# kept ${dir}`);
  });

  test('ready: every artifact, destination, cache part, VEX repository and job reads READY', async () => {
    const adminPort = await freePort();
    const servePort = await freePort();
    adminUrl = `http://127.0.0.1:${adminPort}`;
    serveUrl = `http://127.0.0.1:${servePort}`;
    const secretFile = join(dir, 'push-password');
    const tokenFile = join(dir, 'serve-token');
    await writeFile(secretFile, PUSH_SECRET, { mode: 0o600 });
    await writeFile(tokenFile, SERVE_TOKEN, { mode: 0o600 });
    configPath = join(dir, 'config.yaml');
    await writeFile(
      configPath,
      `stateDir: ${dir}/state
admin: { listen: 127.0.0.1:${adminPort} }
serve: { listen: 127.0.0.1:${servePort}, publicUrl: ${serveUrl}, statusPage: true }
log: { level: info, format: json }
plugins:
  auth-providers:
    dockerConfig: false
    credentials:
      - { host: "${destination.host}", username: ${PUSH_USER}, passwordFile: ${secretFile} }
    serve: { tokens: [{ file: ${tokenFile} }] }
  oci-sync:
    sources: [${upstream.host}/aquasec]
    destinations: [${destination.host}/mirror]
  cache-populator: { targets: [{ dir: ${dir}/cache }], checkIntervalSeconds: 1 }
  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }
`,
    );
    daemon = await startDaemon({ args: ['run', '--config', configPath], adminUrl });
    started.push(daemon);
    await eventually(async () => (await fetch(`${adminUrl}/readyz`)).status === 200, 60_000, '/readyz 200');
    await eventually(
      async () => (await jobs(adminUrl)).every((j) => !j.running && j.lastRun),
      30_000,
      'every job ran',
    );

    const { text } = await page(adminUrl, 'ready');
    assert.match(text, /trivy-mirror/);
    assert.match(text, /^ READY · trivy-mirror /, 'the title says READY');
    assert.doesNotMatch(text, /FAILING|STALE/, text);
    const status = (await (await fetch(`${adminUrl}/status`)).json()) as {
      components: { 'oci-sync': { artifacts: Record<string, { manifestDigest: string }> } };
    };
    for (const key of ['trivy-db:2', 'trivy-java-db:1', 'trivy-checks:1', 'trivy-checks:2']) {
      const digest = status.components['oci-sync'].artifacts[key]!.manifestDigest;
      assert.ok(text.includes(key), key);
      assert.ok(text.includes(digest.slice(0, 'sha256:'.length + 12)), `${key} short digest`);
    }
    assert.ok(text.includes(`✓ holds ${destination.host}/mirror/trivy-db:2`), 'destination holds trivy-db:2');
    assert.ok(text.includes(`${upstream.host}/aquasec/trivy-db:2`), 'source');
    for (const part of ['db', 'java-db', 'checks', 'vex-vexhub']) assert.match(text, new RegExp(` ${part} `));
    assert.match(text, /fresh/);
    assert.match(text, /vexhub sha256:[0-9a-f]{12} [\d.]+ (KiB|MiB)/);
    assert.ok(text.includes(`${serveUrl}/vex/vexhub/`), 'served VEX URL');
    for (const job of ['oci-sync', 'cache-populator', 'vexhub-mirror']) assert.ok(text.includes(job), job);
    assert.match(text, /Last 14 days/);
    const cli = await runCli(['status', '--config', configPath]);
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /^trivy-mirror \S+ {2}READY {2}up \d+s {2}\(ready for clients\)$/m);

    assert.equal((await fetch(`${adminUrl}/`, POST)).status, 405);
    // The serving listener shows it only with the serve credentials.
    assert.equal((await fetch(`${serveUrl}/`)).status, 401);
    const served = await fetch(`${serveUrl}/`, { headers: { authorization: `Bearer ${SERVE_TOKEN}` } });
    assert.equal(served.status, 200);
    assert.match(served.headers.get('content-type') ?? '', /text\/html/);
    assert.match(served.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const servedHtml = await served.text();
    assert.match(servedHtml, /READY/);
    assert.ok(!servedHtml.includes('href="/metrics"'), 'no admin links on the serving listener');
  });

  test('live /metrics passes promtool check metrics and has every name the rules and dashboard use', async () => {
    const text = await eventually(
      async () => {
        const t = await (await fetch(`${adminUrl}/metrics`)).text();
        return (
          t.includes('trivy_mirror_cache_part_stale{') &&
          t.includes('trivy_mirror_destination_push_failing{') &&
          t
        );
      },
      15_000,
      'all gauges exported',
    );
    const lint = await promtoolCheckMetrics(text);
    assert.equal(lint.code, 0, lint.output);
    const exported = exportedNames(text);
    const used = [
      ...(await alertRules()).map((r) => ['rule', r.alert, r.expr] as const),
      ...(await dashboardExprs()).map((e) => ['panel', '', e] as const),
    ];
    for (const [kind, name, expr] of used) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${kind} ${name}: no metric in ${expr}`);
      for (const n of names)
        assert.ok(exported.has(n), `${kind} ${name} uses ${n}, which the daemon does not export`);
    }
    // What the README and the runbook tell users to query: names and label names as exported (a copied
    // alert on a label the series does not carry never fires).
    const declared = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const labels = exportedLabels(text);
    const docs = [
      ...documentedTable(await readFile(join(repoRoot, 'README.md'), 'utf8')).map(
        (d) => ['README table', d] as const,
      ),
      ...documentedSelectors(await readFile(join(repoRoot, 'README.md'), 'utf8')).map(
        (d) => ['README', d] as const,
      ),
      ...documentedSelectors(await readFile(join(repoRoot, 'docs/runbook.md'), 'utf8')).map(
        (d) => ['docs/runbook.md', d] as const,
      ),
    ];
    assert.ok(docs.length > 20, `only ${docs.length} documented metrics found`);
    // Registered only when their feature is configured, which this daemon's config does not do.
    const optional = new Set([
      'trivy_mirror_publish_last_success_timestamp_seconds',
      'trivy_mirror_publish_failures_total',
    ]);
    const problems: string[] = [];
    for (const [where, { name, labels: used }] of docs) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      if (optional.has(name)) continue;
      if (!declared.has(name) && !declared.has(base)) {
        problems.push(`${where} names ${name}, which the daemon does not export`);
        continue;
      }
      const carried = labels.get(name) ?? labels.get(`${base}_bucket`) ?? labels.get(`${base}_count`);
      if (!carried) continue; // declared, no sample yet: its labels cannot be seen
      for (const l of used.filter((x) => !['job', 'instance', 'le'].includes(x)))
        if (!carried.has(l))
          problems.push(`${where}: ${name} has no label ${l} (it has ${[...carried].join(', ')})`);
    }
    assert.deepEqual([...new Set(problems)], []);
  });

  test('failing: upstream and VEX source stopped, the page and `status` say FAILING, the error, its cause, how often', async () => {
    await Promise.all([upstream.stop(), vex.close()]);
    for (let i = 0; i < 2; i++) {
      const before = (await jobs(adminUrl)).find((j) => j.id === 'oci-sync')!.lastRun!.runId;
      assert.equal((await fetch(`${adminUrl}/jobs/oci-sync/run`, POST)).status, 202);
      await eventually(
        async () => {
          const j = (await jobs(adminUrl)).find((x) => x.id === 'oci-sync')!;
          return !j.running && j.lastRun!.runId !== before && j.lastRun!.status === 'failure';
        },
        60_000,
        'oci-sync failed',
      );
    }
    // the other sync job fails too; the store still holds every version, so clients are still served
    assert.equal((await fetch(`${adminUrl}/jobs/vexhub-mirror/run`, POST)).status, 202);
    await eventually(
      async () => (await jobs(adminUrl)).find((x) => x.id === 'vexhub-mirror')?.lastRun?.status === 'failure',
      60_000,
      'vexhub-mirror failed',
    );
    assert.equal((await fetch(`${adminUrl}/readyz`)).status, 200, 'still ready for clients');
    const { text } = await page(adminUrl, 'failing');
    assert.match(text, /^ FAILING · trivy-mirror /, 'the title says FAILING');
    assert.match(text, / ready for clients FAILING rendered /, 'the headline says FAILING');
    assert.match(text, /oci-sync: last run failed .*vexhub-mirror: last run failed /, 'the reasons');
    assert.match(text, /SYNC_FAILED/);
    assert.match(text, /ECONNREFUSED|connection refused/i);
    assert.match(text, /Likely cause: the other side refused the connection/);
    assert.match(text, /failure \(2 in a row\)/);
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    assert.match(metrics, /trivy_mirror_job_consecutive_failures\{job_id="oci-sync"\} 2/);

    // one verdict: /status carries it, `trivy-mirror status` prints it and exits with its code
    const status = (await (await fetch(`${adminUrl}/status`)).json()) as StatusJson;
    assert.deepEqual([status.ready, status.verdict.state], [true, 'failing']);
    const cli = await runCli(['status', '--config', configPath]);
    assert.equal(cli.code, 5, `FAILING exits 5:\n${cli.stdout}${cli.stderr}`);
    const [headline, ...rest] = cli.stdout.split('\n');
    assert.match(headline!, /^trivy-mirror \S+ {2}FAILING {2}up \d+s {2}\(ready for clients\)$/);
    // the same reasons (their "… ago" moved on a second or so meanwhile)
    const ago = (l: string) => l.replace(/ \d+[smhd]( \d+[smh])? ago/g, ' … ago');
    for (const reason of status.verdict.reasons)
      assert.ok(rest.map(ago).includes(`  ${ago(reason)}`), `${reason}\n${cli.stdout}`);
    assert.match(cli.stdout, /\n {2}oci-sync: last run failed .*ECONNREFUSED.*\n {2}vexhub-mirror: last run/);
  });

  test('restart: the history survives (3 in a row after the failing run on start)', async () => {
    const historyFile = join(dir, 'state/history.jsonl');
    const before = (await readFile(historyFile, 'utf8')).trim().split('\n').length;
    assert.ok(before >= 5, `${before} runs recorded`);
    await daemon.stop();
    daemon = await startDaemon({ args: ['run', '--config', configPath], adminUrl });
    started.push(daemon);
    await eventually(
      async () => (await jobs(adminUrl)).find((j) => j.id === 'oci-sync')?.lastRun?.status === 'failure',
      60_000,
      'oci-sync ran on start and failed',
    );
    const { text, dom } = await page(adminUrl, 'restarted');
    assert.match(text, /failure \(3 in a row\)/);
    assert.match(
      dom,
      /\d{4}-\d{2}-\d{2}: [\d.]+ (KiB|MiB), 3 failed/,
      'the bytes chart counts the failed runs of today',
    );
    const lines = (await readFile(historyFile, 'utf8')).trim().split('\n');
    assert.ok(lines.length > before, 'appended after the restart');
  });

  test('stale: a cache dir holding a DB two days past NextUpdate reads STALE', async () => {
    vex = await startVexServer(); // the one before was stopped for the failing state
    const adminPort = await freePort();
    const url = `http://127.0.0.1:${adminPort}`;
    const cfg = join(dir, 'stale.yaml');
    await writeFile(
      cfg,
      `stateDir: ${dir}/stale-state
admin: { listen: 127.0.0.1:${adminPort} }
log: { level: info, format: json }
plugins:
  auth-providers: { dockerConfig: false }
  oci-sync: { sources: [${staleUpstream.host}/aquasec] }
  cache-populator: { targets: [{ dir: ${dir}/stale-cache, staleGraceMinutes: 0 }], checkIntervalSeconds: 1 }
  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }
`,
    );
    const stale = await startDaemon({ args: ['run', '--config', cfg], adminUrl: url });
    started.push(stale);
    await eventually(
      async () =>
        (await (await fetch(`${url}/metrics`)).text()).includes('trivy_mirror_cache_part_stale{dir='),
      60_000,
      'cache check ran',
    );
    await eventually(async () => (await jobs(url)).every((j) => !j.running && j.lastRun), 30_000, 'jobs ran');
    // Someone deletes a file: the cache part is repaired from the store, and the page says so.
    await rm(join(dir, 'stale-cache/db/trivy.db'));
    await eventually(
      async () => (await stat(join(dir, 'stale-cache/db/trivy.db')).catch(() => undefined)) !== undefined,
      30_000,
      'db/trivy.db repaired',
    );
    const { text } = await eventually(
      async () => {
        const p = await page(url, 'stale');
        return /repaired .*?trivy\.db/.test(p.text) && p;
      },
      15_000,
      'the page shows the repair',
    );
    assert.match(text, /STALE/);
    assert.match(
      text,
      new RegExp(
        `STALE ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/stale-cache db 2 .*? stale .*? repaired`,
      ),
    );
    assert.match(text, /trivy-db:2/);
    assert.match(text, /\d+d \d+h ago/, 'NextUpdate shown as days ago');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /trivy_mirror_cache_part_stale\{dir="[^"]+",part="db"\} 1/);
    const cli = await runCli(['status', '--config', cfg]);
    assert.equal(cli.code, 4, `STALE exits 4:\n${cli.stdout}${cli.stderr}`);
    assert.match(cli.stdout, /^trivy-mirror \S+ {2}STALE {2}/);
    assert.match(cli.stdout, /^ {2}cache \S+\/stale-cache db: stale$/m);
    await stale.stop();
  });
});

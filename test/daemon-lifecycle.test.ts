// End to end: the built daemon as a process against real docker-registry instances — start-up health,
// readiness after sync + population, /status, /metrics, job triggers, signals (SIGTERM, SIGHUP),
// start-up errors (bad config, broken plugins), the external example plugin and the CLI around it.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type FaultProxy,
  generateArtifact,
  pushArtifact,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startFaultProxy,
  startRegistry,
} from '@trivy-mirror/fixtures';
import {
  type DaemonProcess,
  eventually,
  freePort,
  runCli,
  startDaemon,
  waitForRuntime,
} from './helpers/daemon-process.js';
import { type HookServer, startHookServer } from './helpers/hook-server.js';
import { parsePrometheusText } from './helpers/prometheus.js';
import { findTempLeftovers } from './helpers/temp-files.js';
import { startThrottleProxy, type ThrottleProxy } from './helpers/throttle-proxy.js';
import { startVexServer, type VexServer } from './helpers/vex-server.js';

interface JobJson {
  id: string;
  schedule?: string;
  nextRun?: string;
  running: boolean;
  lastRun?: {
    runId: string;
    status: string;
    reason: string;
    bytes?: number;
    startedAt: string;
    endedAt?: string;
    details?: { artifacts?: unknown[] };
  };
}
interface StatusJson {
  ready: boolean;
  phase: string;
  jobs: JobJson[];
  components: Record<string, Record<string, unknown>>;
}

const getJson = async <T>(url: string): Promise<T> => {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${url} answered ${res.status}`);
  return (await res.json()) as T;
};

describe('daemon lifecycle (built daemon, real registries)', { timeout: 85_000 }, () => {
  let dir: string;
  let upstream: RunningRegistry;
  let destination: RunningRegistry;
  let proxy: FaultProxy;
  let vex: VexServer;
  let hook: HookServer;
  let seeded: SeedUpstreamResult;
  const slowManifests = { on: true };
  const started: DaemonProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-e2e-lifecycle-'));
    [upstream, destination, vex, hook] = await Promise.all([
      startRegistry(),
      startRegistry(),
      startVexServer(),
      startHookServer(),
    ]);
    seeded = await seedUpstream({
      registryUrl: upstream.url,
      workDir: join(dir, 'seed'),
      dbBytes: 96 * 1024,
      javaDbBytes: 96 * 1024,
      seed: 'e2e-lifecycle',
    });
    // The first sync must not finish before we look at /readyz: manifests are slow until it is over.
    proxy = await startFaultProxy({
      upstream: upstream.url,
      fault: (req) =>
        slowManifests.on && req.method === 'GET' && /\/manifests\//.test(req.url ?? '')
          ? { kind: 'delay', ms: 1200 }
          : undefined,
    });
  });

  after(async () => {
    for (const d of started) await d.stop('SIGKILL').catch(() => {});
    await Promise.allSettled([
      upstream?.stop(),
      destination?.stop(),
      proxy?.stop(),
      vex?.close(),
      hook?.close(),
    ]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // ---- the main daemon: every plugin plus the external example plugin -------------------------------

  let main: DaemonProcess;
  let adminUrl: string;
  let serveHost: string;
  let configPath: string;
  let mainConfig: (schedule: string) => string;

  test('/healthz answers within 1 s of spawn; /readyz is 503 until synced, populated and mirrored', async () => {
    const adminPort = await freePort();
    const servePort = await freePort();
    adminUrl = `http://127.0.0.1:${adminPort}`;
    serveHost = `127.0.0.1:${servePort}`;
    configPath = join(dir, 'config.yaml');
    mainConfig = (schedule) => `stateDir: ${dir}/state
admin: { listen: 127.0.0.1:${adminPort} }
serve: { listen: ${serveHost}, publicUrl: http://${serveHost} }
log: { level: info, format: json }
plugins:
  auth-providers: { dockerConfig: false }
  oci-sync:
    schedule: "${schedule}"
    sources: [${proxy.host}/aquasec]
    destinations: [${destination.host}/mirror]
  cache-populator:
    targets: [{ dir: ${dir}/cache }]
    checkIntervalSeconds: 1
  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }
  external:
    - module: '@trivy-mirror/example-plugin-webhook'
      options: { url: ${hook.url}/hook, events: [artifact.stored] }
`;
    await writeFile(configPath, mainConfig('17 */6 * * *'));
    const t0 = Date.now();
    main = await startDaemon({ args: ['run', '--config', configPath], adminUrl, waitHealthy: false });
    started.push(main);
    const healthyAfter = await eventually(
      async () => {
        const res = await fetch(`${adminUrl}/healthz`);
        await res.arrayBuffer();
        return res.status === 200 && Date.now() - t0;
      },
      10_000,
      '/healthz 200',
    );
    assert.ok(healthyAfter < 1000, `/healthz answered ${healthyAfter} ms after spawn`);
    await waitForRuntime(adminUrl, 15_000, main.exited, () => main.stdout());
    // ...and stays fast while the first sync is busy.
    const h0 = Date.now();
    assert.equal((await fetch(`${adminUrl}/healthz`)).status, 200);
    assert.ok(Date.now() - h0 < 500, `/healthz took ${Date.now() - h0} ms during the sync`);

    const early = await fetch(`${adminUrl}/readyz`);
    assert.equal(early.status, 503, await early.text());
    // Once the runtime is up, /readyz says what it is waiting for.
    await eventually(
      async () => {
        const res = await fetch(`${adminUrl}/readyz`);
        const body = await res.text();
        assert.equal(res.status, 503, body);
        return /oci-sync: not stored yet: trivy-db:2/.test(body);
      },
      10_000,
      '/readyz 503 naming what oci-sync has not stored yet',
    );

    await eventually(async () => (await fetch(`${adminUrl}/readyz`)).status === 200, 30_000, '/readyz 200');
    slowManifests.on = false;
    // Population happened before readiness: the cache dir holds the databases with DownloadedAt set.
    const dbMeta = JSON.parse(await readFile(join(dir, 'cache/db/metadata.json'), 'utf8'));
    assert.equal(dbMeta.Version, 2);
    assert.ok(Date.parse(dbMeta.DownloadedAt) > t0 - 1000, `DownloadedAt ${dbMeta.DownloadedAt}`);
    assert.ok((await stat(join(dir, 'cache/db/trivy.db'))).size > 0);
    const javaMeta = JSON.parse(await readFile(join(dir, 'cache/java-db/metadata.json'), 'utf8'));
    assert.equal(javaMeta.Version, 1);
    const policyMeta = JSON.parse(await readFile(join(dir, 'cache/policy/metadata.json'), 'utf8'));
    assert.equal(policyMeta.MajorVersion, 2);
    assert.equal(policyMeta.Digest, seeded.digests['trivy-checks:2']);
    await eventually(
      () =>
        stat(join(dir, 'cache/vex/repositories/vexhub/vex-repository.json')).then(
          () => true,
          () => false,
        ),
      15_000,
      'VEX repository in the cache dir',
    );
  });

  test('/status shows per-artifact versions and jobs with last and next runs', async () => {
    const status = await getJson<StatusJson>(`${adminUrl}/status`);
    assert.equal(status.ready, true);
    assert.equal(status.phase, 'running');
    const artifacts = status.components['oci-sync']!.artifacts as Record<string, Record<string, unknown>>;
    for (const key of ['trivy-db:2', 'trivy-java-db:1', 'trivy-checks:1', 'trivy-checks:2']) {
      assert.equal(artifacts[key]?.stored, true, key);
      assert.equal(artifacts[key]?.manifestDigest, seeded.digests[key], key);
    }
    for (const key of ['trivy-db:2', 'trivy-java-db:1']) {
      const a = artifacts[key]!;
      assert.ok(Date.parse(String(a.updatedAt)) > 0, `${key} updatedAt ${a.updatedAt}`);
      assert.ok(Date.parse(String(a.nextUpdate)) > Date.parse(String(a.updatedAt)), `${key} nextUpdate`);
    }
    const jobs = new Map(status.jobs.map((j) => [j.id, j]));
    assert.deepEqual([...jobs.keys()].sort(), ['cache-populator', 'oci-sync', 'vexhub-mirror']);
    for (const id of ['oci-sync', 'vexhub-mirror']) {
      const job = jobs.get(id)!;
      assert.equal(job.lastRun?.status, 'success', `${id}: ${JSON.stringify(job.lastRun)}`);
      assert.ok(Date.parse(job.lastRun.endedAt ?? '') > 0, `${id} lastRun.endedAt`);
      assert.ok(Date.parse(job.nextRun ?? '') > Date.now(), `${id} nextRun ${job.nextRun}`);
    }
    assert.equal(jobs.get('oci-sync')!.schedule, '17 */6 * * *');
    // ...and pushed on to the destination registry, byte-identical.
    const pushed = await fetch(`${destination.url}/v2/mirror/trivy-db/manifests/2`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(pushed.headers.get('docker-content-digest'), seeded.digests['trivy-db:2']);
    assert.ok(jobs.get('cache-populator')!.lastRun, 'cache-populator ran');
  });

  test('/metrics is Prometheus text with job counters, durations, bytes moved and DB age', async () => {
    const { samples, types } = await eventually(
      async () => {
        const res = await fetch(`${adminUrl}/metrics`);
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
        const parsed = parsePrometheusText(await res.text());
        // cache DB age is refreshed by the cache check (every second here)
        return parsed.samples.some((s) => s.name === 'trivy_mirror_cache_db_age_seconds') && parsed;
      },
      10_000,
      'trivy_mirror_cache_db_age_seconds samples',
    );
    const one = (name: string, labels: Record<string, string>) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    assert.equal(types.get('trivy_mirror_job_runs_total'), 'counter');
    assert.ok(
      (one('trivy_mirror_job_runs_total', { job_id: 'oci-sync', status: 'success' })?.value ?? 0) >= 1,
    );
    assert.ok(
      (one('trivy_mirror_job_runs_total', { job_id: 'vexhub-mirror', status: 'success' })?.value ?? 0) >= 1,
    );
    assert.equal(types.get('trivy_mirror_job_duration_seconds'), 'histogram');
    assert.ok((one('trivy_mirror_job_duration_seconds_count', { job_id: 'oci-sync' })?.value ?? 0) >= 1);
    assert.ok((one('trivy_mirror_job_duration_seconds_sum', { job_id: 'oci-sync' })?.value ?? 0) > 0);
    assert.ok((one('trivy_mirror_bytes_moved_total', { job_id: 'oci-sync' })?.value ?? 0) > 0);
    assert.ok((one('trivy_mirror_bytes_moved_total', { job_id: 'vexhub-mirror' })?.value ?? 0) > 0);
    const lastSuccess =
      one('trivy_mirror_job_last_success_timestamp_seconds', { job_id: 'oci-sync' })?.value ?? 0;
    assert.ok(Math.abs(lastSuccess - Date.now() / 1000) < 120, `last success ${lastSuccess}`);
    const updated = one('trivy_mirror_artifact_updated_timestamp_seconds', {
      artifact: 'trivy-db',
      tag: '2',
    });
    assert.ok(updated && updated.value > 1.7e9, 'trivy-db UpdatedAt gauge');
    const age = one('trivy_mirror_cache_db_age_seconds', { dir: join(dir, 'cache'), part: 'db' });
    assert.ok(age && age.value >= 0 && age.value < 600, `db age ${age?.value}`);
  });

  test('the example plugin, loaded by module name, receives artifact.stored as a webhook POST', async () => {
    await eventually(async () => hook.received.length >= 4, 10_000, 'four webhook POSTs');
    const byRepo = new Map(hook.received.map((r) => [`${r.body.repository}:${r.body.tag}`, r]));
    const db = byRepo.get('trivy-db:2');
    assert.ok(db, `webhooks: ${JSON.stringify(hook.received.map((r) => r.body))}`);
    assert.equal(db.path, '/hook');
    assert.equal(db.body.event, 'artifact.stored');
    assert.equal(db.body.digest, seeded.digests['trivy-db:2']);
    assert.equal(byRepo.get('trivy-checks:2')?.body.digest, seeded.digests['trivy-checks:2']);
  });

  test('POST /jobs/oci-sync/run on the admin listener runs the job; the second run moves no blob', async () => {
    const before = proxy.log.length;
    const res = await fetch(`${adminUrl}/jobs/oci-sync/run`, { method: 'POST' });
    assert.equal(res.status, 202);
    const { runId } = (await res.json()) as { runId: string };
    assert.ok(runId);
    const run = await eventually(
      async () => {
        const status = await getJson<StatusJson>(`${adminUrl}/status`);
        const job = status.jobs.find((j) => j.id === 'oci-sync')!;
        return job.lastRun?.runId === runId && job.lastRun;
      },
      15_000,
      `run ${runId} to finish`,
    );
    assert.equal(run.reason, 'admin');
    assert.equal(run.status, 'skipped');
    assert.equal(run.bytes ?? 0, 0);
    const perArtifact = (run.details?.artifacts ?? []) as Record<string, unknown>[];
    assert.equal(perArtifact.length, 4, JSON.stringify(run.details));
    for (const a of perArtifact) {
      assert.equal(a.changed, false, JSON.stringify(a));
      assert.equal(a.bytesDownloaded ?? 0, 0, JSON.stringify(a));
      assert.equal(a.bytesPushed ?? 0, 0, JSON.stringify(a));
    }
    const requests = proxy.log.slice(before);
    assert.ok(
      requests.some((r) => r.path.includes('/manifests/')),
      'the run asked upstream',
    );
    assert.deepEqual(
      requests.filter((r) => r.path.includes('/blobs/') && r.method === 'GET'),
      [],
      'no blob downloaded',
    );
    // Nothing changed, so the webhook (onlyChanges) stayed quiet.
    assert.equal(hook.received.length, 4);
    // Unknown jobs are 404; the serving listener has no job triggers.
    assert.equal((await fetch(`${adminUrl}/jobs/nope/run`, { method: 'POST' })).status, 404);
    const onServe = await fetch(`http://${serveHost}/jobs/oci-sync/run`, { method: 'POST' });
    assert.ok(onServe.status >= 400, `serve listener answered ${onServe.status}`);
  });

  test('CLI: status, status --json and client-config against the running daemon', async () => {
    const text = await runCli(['status', '--admin', adminUrl], { timeoutMs: 20_000 });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\bREADY\b/);
    assert.match(text.stdout, /oci-sync +next in \S+ +last skipped \S+ ago: 4 artifact tags up to date/);
    // A table row per stored version: digest, UpdatedAt and NextUpdate (databases), version (checks), VEX.
    const dbLine = text.stdout.split('\n').find((l) => /^ {2}trivy-db:2 /.test(l)) ?? '';
    assert.ok(dbLine.includes(seeded.digests['trivy-db:2']!.slice(7, 19)), text.stdout);
    assert.match(dbLine, / \d{4}-\d\d-\d\dT\S+Z +(in \S+|\S+ ago) /);
    assert.match(text.stdout, /^ {2}trivy-checks:2 +[0-9a-f]{12} +\S+ \S+ +v\d/m);
    assert.match(text.stdout, /^ {2}vexhub +[0-9a-f]{12} +\d{4}-/m);
    // No raw component JSON under the tables.
    assert.doesNotMatch(text.stdout, /^\s*[{}"]/m);
    assert.ok(
      text.stdout.includes(seeded.digests['trivy-db:2']!.slice(7, 19)),
      `status shows the trivy-db digest:\n${text.stdout}`,
    );
    const json = await runCli(['status', '--json', '--admin', adminUrl], { timeoutMs: 20_000 });
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as StatusJson;
    assert.equal(parsed.ready, true);
    const artifacts = parsed.components['oci-sync']!.artifacts as Record<string, Record<string, unknown>>;
    assert.equal(artifacts['trivy-db:2']?.manifestDigest, seeded.digests['trivy-db:2']);

    const client = await runCli(['client-config', '--config', configPath], { timeoutMs: 20_000 });
    assert.equal(client.code, 0, client.stderr);
    assert.ok(client.stdout.includes(`--db-repository ${serveHost}/trivy-db:2`), client.stdout);
    assert.ok(client.stdout.includes(`--java-db-repository ${serveHost}/trivy-java-db:1`), client.stdout);
    assert.match(client.stdout, /repository\.yaml/);
    assert.match(client.stdout, new RegExp(`- name: vexhub\\s+url: http://${serveHost}\\s+enabled: true`));
  });

  test('SIGHUP: an invalid config is refused (and said why), a valid changed one is applied', async () => {
    await writeFile(
      configPath,
      mainConfig('17 */6 * * *').replace('schedule: "17 */6 * * *"', 'schedule: 5'),
    );
    main.child.kill('SIGHUP');
    const refused = await main.waitForLog((l) => /reload failed/.test(String(l.msg)), 10_000);
    assert.match(String(refused.msg), /plugins\.oci-sync\.schedule/);
    assert.match(String(refused.msg), /line 8/);
    assert.equal(main.child.exitCode, null, 'still running');
    assert.equal((await fetch(`${adminUrl}/readyz`)).status, 200);

    await writeFile(configPath, mainConfig('7 5 * * *'));
    main.child.kill('SIGHUP');
    await main.waitForLog((l) => l.msg === 'configuration reloaded', 15_000);
    const status = await getJson<StatusJson>(`${adminUrl}/status`);
    const job = status.jobs.find((j) => j.id === 'oci-sync')!;
    assert.equal(job.schedule, '7 5 * * *');
    assert.equal(new Date(job.nextRun!).getUTCMinutes(), 7);
    await eventually(async () => (await fetch(`${adminUrl}/readyz`)).status === 200, 15_000, 'ready again');
  });

  test('SIGTERM: exit 0 within 10 s, no temp files left', async () => {
    const r = await main.stop('SIGTERM');
    assert.equal(r.code, 0, main.stderr().slice(-2000));
    assert.ok(r.ms < 10_000, `stopped in ${r.ms} ms`);
    assert.deepEqual(await findTempLeftovers(join(dir, 'state'), join(dir, 'cache')), []);
    assert.ok(main.logs().some((l) => l.msg === 'stopped'));
  });

  // ---- interrupting a long sync ---------------------------------------------------------------------

  test('SIGTERM during a long sync: exit 0 within 10 s, no temp files left', async () => {
    const work = join(dir, 'long');
    await mkdir(work, { recursive: true });
    // ~4 MB of incompressible layer behind a proxy that streams blobs at 512 KiB/s: about 8 s.
    const big = await generateArtifact({
      kind: 'trivy-db',
      dbBytes: 4 * 1024 * 1024,
      compressionRatio: 1,
      seed: 'e2e-long',
      workDir: join(work, 'seed'),
    });
    await pushArtifact(upstream.url, 'big/trivy-db', '2', big);
    const slow: ThrottleProxy = await startThrottleProxy({
      upstream: upstream.url,
      bytesPerSecond: 512 * 1024,
    });
    try {
      const adminPort = await freePort();
      const cfg = join(work, 'config.yaml');
      await writeFile(
        cfg,
        `stateDir: ${work}/state
admin: { listen: 127.0.0.1:${adminPort} }
log: { level: info, format: json }
plugins:
  auth-providers: { dockerConfig: false }
  oci-sync:
    sources: [${slow.host}/big]
    artifacts: [{ name: trivy-db, tags: ["2"] }]
  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }
  cache-populator: { targets: [{ dir: ${work}/cache }] }
`,
      );
      const d = await startDaemon({
        args: ['run', '--config', cfg],
        adminUrl: `http://127.0.0.1:${adminPort}`,
      });
      started.push(d);
      // Wait until the layer download is under way and has written part of a temp file.
      await eventually(
        async () => slow.blobBodiesStarted > 0 && (await findTempLeftovers(join(work, 'state'))).length > 0,
        20_000,
        'a download in flight',
      );
      const status = await getJson<StatusJson>(`http://127.0.0.1:${adminPort}/status`);
      assert.equal(status.jobs.find((j) => j.id === 'oci-sync')?.running, true);
      const r = await d.stop('SIGTERM');
      assert.equal(r.code, 0, d.stdout().slice(-3000));
      assert.ok(r.ms < 10_000, `stopped in ${r.ms} ms`);
      assert.deepEqual(await findTempLeftovers(join(work, 'state'), join(work, 'cache')), []);
    } finally {
      await slow.stop();
    }
  });

  // ---- start-up errors --------------------------------------------------------------------------------

  test('a bad config stops start-up with the YAML path and line; config check agrees', async () => {
    const bad = join(dir, 'bad');
    await mkdir(bad, { recursive: true });
    const head = `stateDir: ${bad}/state
admin: { listen: 127.0.0.1:${await freePort()} }
log: { format: json }
`;
    const cases = [
      {
        name: 'tags-number.yaml',
        yaml: `${head}plugins:
  oci-sync:
    sources: [127.0.0.1:1/aquasec]
    artifacts:
      - { name: trivy-db, tags: 5 }
`,
        expect: /plugins\.oci-sync\.artifacts\[0\]\.tags \(line 8\b/,
      },
      {
        name: 'unknown-key.yaml',
        yaml: `${head}plugins:
  oci-sync:
    sources: [127.0.0.1:1/aquasec]
    colour: blue
`,
        expect: /plugins\.oci-sync\.colour \(line 7\b[^)]*\): unknown key \\?"colour/,
      },
    ];
    for (const c of cases) {
      const file = join(bad, c.name);
      await writeFile(file, c.yaml);
      const run = await runCli(['run', '--config', file], { timeoutMs: 20_000 });
      assert.notEqual(run.code, 0, `${c.name}: run exited ${run.code}`);
      assert.match(run.stdout + run.stderr, c.expect, c.name);
      assert.ok(!(await stat(join(bad, 'state')).catch(() => undefined)), 'nothing started');
      const check = await runCli(['config', 'check', '--config', file], { timeoutMs: 20_000 });
      assert.equal(check.code, 1, `${c.name}: config check exited ${check.code}`);
      assert.match(check.stderr, c.expect, c.name);
    }
    // A usage error exits at once (nothing, not even the early /healthz, keeps it alive).
    const usage = await runCli(['run', '--config', configPath, '--no-such-flag'], { timeoutMs: 15_000 });
    assert.equal(usage.code, 1, usage.stderr);
    assert.match(usage.stderr, /unknown option '--no-such-flag'/);
    const good = await runCli(['config', 'check', '--config', configPath], { timeoutMs: 20_000 });
    assert.equal(good.code, 0, good.stderr);
    const schema = await runCli(['config', 'schema'], { timeoutMs: 20_000 });
    assert.equal(schema.code, 0, schema.stderr);
    const json = JSON.parse(schema.stdout) as { type?: string; properties?: Record<string, unknown> };
    assert.equal(json.type, 'object');
    assert.ok(json.properties?.plugins && json.properties.stateDir, 'schema describes stateDir and plugins');
  });

  test('a broken external plugin stops start-up with its name and the cause', async () => {
    const plugins = join(dir, 'plugins');
    await mkdir(plugins, { recursive: true });
    const throwing = join(plugins, 'throws-on-import.mjs');
    await writeFile(throwing, 'throw new Error("exploded while importing");\n');
    const wrongShape = join(plugins, 'wrong-shape.mjs');
    await writeFile(wrongShape, 'export default { id: 42, hello: "world" };\n');
    await chmod(throwing, 0o644);
    for (const [file, cause] of [
      [throwing, /exploded while importing/],
      [wrongShape, /not a plugin[^\n]*`id`[^\n]*`module` must be a function/],
    ] as const) {
      const cfg = join(plugins, 'config.yaml');
      await writeFile(
        cfg,
        `stateDir: ${plugins}/state
admin: { listen: 127.0.0.1:${await freePort()} }
log: { format: json }
plugins:
  external: [{ module: ${file} }]
`,
      );
      const run = await runCli(['run', '--config', cfg], { timeoutMs: 20_000 });
      assert.notEqual(run.code, 0);
      const out = run.stdout + run.stderr;
      assert.ok(out.includes(`plugin ${file}`), out);
      assert.match(out, cause);
      const check = await runCli(['config', 'check', '--config', cfg], { timeoutMs: 20_000 });
      assert.equal(check.code, 1);
      assert.ok(check.stderr.includes(file), check.stderr);
      assert.match(check.stderr, cause);
    }
  });
});

// End to end: the main daemon (every plugin plus the external example plugin) as a process against real
// docker-registry instances, from spawn to SIGTERM: start-up health, readiness after sync + population,
// /status, /metrics, the webhook plugin, job triggers, the CLI around it, SIGHUP and SIGTERM (set-up:
// helpers/daemon-lifecycle-suite.ts). The tests run in order on the one daemon the first one starts.
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LifecycleWorld, StatusJson } from './helpers/daemon-lifecycle-suite.js';
import { getJson, startLifecycleWorld, writeMainConfig } from './helpers/daemon-lifecycle-suite.js';
import {
  type DaemonProcess,
  eventually,
  runCli,
  startDaemon,
  waitForRuntime,
} from './helpers/daemon-process.js';
import { parsePrometheusText } from './helpers/prometheus.js';
import { findTempLeftovers } from './helpers/temp-files.js';

describe('daemon lifecycle (built daemon, real registries)', { timeout: 85_000 }, () => {
  let world: LifecycleWorld;
  before(async () => (world = await startLifecycleWorld('lifecycle')));
  after(() => world?.stop());

  let main: DaemonProcess;
  let adminUrl: string;
  let serveHost: string;
  let configPath: string;
  let mainConfig: (schedule: string) => string;

  test('/healthz answers within 1 s of spawn; /readyz is 503 until synced, populated and mirrored', async () => {
    ({ adminUrl, serveHost, configPath, mainConfig } = await writeMainConfig(world));
    const t0 = Date.now();
    main = await startDaemon({ args: ['run', '--config', configPath], adminUrl, waitHealthy: false });
    world.started.push(main);
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
    world.slowManifests.on = false;
    // Population happened before readiness: the cache dir holds the databases with DownloadedAt set.
    const dbMeta = JSON.parse(await readFile(join(world.dir, 'cache/db/metadata.json'), 'utf8'));
    assert.equal(dbMeta.Version, 2);
    assert.ok(Date.parse(dbMeta.DownloadedAt) > t0 - 1000, `DownloadedAt ${dbMeta.DownloadedAt}`);
    assert.ok((await stat(join(world.dir, 'cache/db/trivy.db'))).size > 0);
    const javaMeta = JSON.parse(await readFile(join(world.dir, 'cache/java-db/metadata.json'), 'utf8'));
    assert.equal(javaMeta.Version, 1);
    const policyMeta = JSON.parse(await readFile(join(world.dir, 'cache/policy/metadata.json'), 'utf8'));
    assert.equal(policyMeta.MajorVersion, 2);
    assert.equal(policyMeta.Digest, world.seeded.digests['trivy-checks:2']);
    await eventually(
      () =>
        stat(join(world.dir, 'cache/vex/repositories/vexhub/vex-repository.json')).then(
          () => true,
          () => false,
        ),
      15_000,
      'VEX repository in the cache dir',
    );
  });

  test('/status shows per-artifact versions and jobs with last and next runs', async () => {
    // Ready as soon as everything is stored and its metadata read; the run itself ends after the pushes.
    const status = await eventually(
      async () => {
        const s = await getJson<StatusJson>(`${adminUrl}/status`);
        return s.jobs.every((j) => j.id === 'cache-populator' || j.lastRun) && s;
      },
      30_000,
      'the start-up runs of oci-sync and vexhub-mirror',
    );
    assert.equal(status.ready, true);
    assert.equal(status.phase, 'running');
    const artifacts = status.components['oci-sync']!.artifacts as Record<string, Record<string, unknown>>;
    for (const key of ['trivy-db:2', 'trivy-java-db:1', 'trivy-checks:1', 'trivy-checks:2']) {
      assert.equal(artifacts[key]?.stored, true, key);
      assert.equal(artifacts[key]?.manifestDigest, world.seeded.digests[key], key);
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
    const pushed = await fetch(`${world.destination.url}/v2/mirror/trivy-db/manifests/2`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(pushed.headers.get('docker-content-digest'), world.seeded.digests['trivy-db:2']);
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
    const age = one('trivy_mirror_cache_db_age_seconds', { dir: join(world.dir, 'cache'), part: 'db' });
    assert.ok(age && age.value >= 0 && age.value < 600, `db age ${age?.value}`);
  });

  test('the example plugin, loaded by module name, receives artifact.stored as a webhook POST', async () => {
    await eventually(async () => world.hook.received.length >= 4, 10_000, 'four webhook POSTs');
    const byRepo = new Map(world.hook.received.map((r) => [`${r.body.repository}:${r.body.tag}`, r]));
    const db = byRepo.get('trivy-db:2');
    assert.ok(db, `webhooks: ${JSON.stringify(world.hook.received.map((r) => r.body))}`);
    assert.equal(db.path, '/hook');
    assert.equal(db.body.event, 'artifact.stored');
    assert.equal(db.body.digest, world.seeded.digests['trivy-db:2']);
    assert.equal(byRepo.get('trivy-checks:2')?.body.digest, world.seeded.digests['trivy-checks:2']);
  });

  test('POST /jobs/oci-sync/run on the admin listener runs the job; the second run moves no blob', async () => {
    const before = world.proxy.log.length;
    const res = await fetch(`${adminUrl}/jobs/oci-sync/run`, {
      method: 'POST',
      headers: { 'x-trivy-mirror': 'test' },
    });
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
    const requests = world.proxy.log.slice(before);
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
    assert.equal(world.hook.received.length, 4);
    // Unknown jobs are 404; the serving listener has no job triggers.
    assert.equal(
      (await fetch(`${adminUrl}/jobs/nope/run`, { method: 'POST', headers: { 'x-trivy-mirror': 'test' } }))
        .status,
      404,
    );
    const onServe = await fetch(`http://${serveHost}/jobs/oci-sync/run`, { method: 'POST' });
    assert.ok(onServe.status >= 400, `serve listener answered ${onServe.status}`);
  });

  test('CLI: status, status --json and client-config against the running daemon', async () => {
    const text = await runCli(['status', '--admin', adminUrl], { timeoutMs: 20_000 });
    // the verdict the status page shows, and its exit code: everything synced and served, but the VEX
    // Hub snapshot this world serves was last updated months ago (more than twice its interval): STALE
    assert.equal(text.code, 4, text.stdout + text.stderr);
    assert.match(
      text.stdout,
      /^trivy-mirror \S+ {2}STALE {2}up \d+s {2}\(ready for clients\)\n {2}VEX vexhub: updated /,
    );
    assert.match(text.stdout, /oci-sync +next in \S+ +last skipped \S+ ago: 4 artifact tags up to date/);
    // A table row per stored version: digest, UpdatedAt and NextUpdate (databases), version (checks), VEX.
    const dbLine = text.stdout.split('\n').find((l) => /^ {2}trivy-db:2 /.test(l)) ?? '';
    assert.ok(dbLine.includes(world.seeded.digests['trivy-db:2']!.slice(7, 19)), text.stdout);
    assert.match(dbLine, / \d{4}-\d\d-\d\dT\S+Z +(in \S+|\S+ ago) /);
    assert.match(text.stdout, /^ {2}trivy-checks:2 +[0-9a-f]{12} +\S+ \S+ +v\d/m);
    assert.match(text.stdout, /^ {2}vexhub +[0-9a-f]{12} +\d{4}-/m);
    // No raw component JSON under the tables.
    assert.doesNotMatch(text.stdout, /^\s*[{}"]/m);
    assert.ok(
      text.stdout.includes(world.seeded.digests['trivy-db:2']!.slice(7, 19)),
      `status shows the trivy-db digest:\n${text.stdout}`,
    );
    const json = await runCli(['status', '--json', '--admin', adminUrl], { timeoutMs: 20_000 });
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as StatusJson;
    assert.equal(parsed.ready, true);
    const artifacts = parsed.components['oci-sync']!.artifacts as Record<string, Record<string, unknown>>;
    assert.equal(artifacts['trivy-db:2']?.manifestDigest, world.seeded.digests['trivy-db:2']);

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
    assert.deepEqual(await findTempLeftovers(join(world.dir, 'state'), join(world.dir, 'cache')), []);
    assert.ok(main.logs().some((l) => l.msg === 'stopped'));
  });
});

// End to end: no silent rollback in a sync. An upstream registry (Debian's docker-registry on loopback)
// whose trivy-db:2 goes back to an older build (metadata.json UpdatedAt two days earlier) is refused by
// `trivy-mirror sync` and by the daemon's oci-sync run (ROLLBACK_REFUSED in the job result, /status and
// the logs), the store keeps serving the newer one; `sync --allow-rollback` or allowRollback: true on
// the artifact takes the older one.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type GeneratedArtifact,
  generateArtifact,
  pushArtifact,
  type RunningRegistry,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { getStatus, runJob, waitReady } from './helpers/admin-api.js';
import { freePort, runCli, startDaemon } from './helpers/daemon-process.js';
import { getManifest, sha256, tempDir } from './helpers/oci-e2e.js';
import { startVexServer } from './helpers/vex-server.js';
import { zipWithIndex } from './helpers/vex-variants.js';

const DAY = 86_400_000;
type Json = Record<string, unknown>;

describe('no silent rollback: sync (e2e)', { timeout: 240_000 }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let upstream: RunningRegistry;
  let newer: GeneratedArtifact;
  let older: GeneratedArtifact;
  let stateDir: string;
  let adminPort: number;
  let servePort: number;
  const config = (allowRollback = false) => {
    const path = join(work.dir, allowRollback ? 'allow.yaml' : 'config.yaml');
    const artifact = `{ name: trivy-db, tags: ["2"]${allowRollback ? ', allowRollback: true' : ''} }`;
    return writeFile(
      path,
      [
        `stateDir: ${stateDir}`,
        `admin: { listen: 127.0.0.1:${adminPort} }`,
        `serve: { listen: 127.0.0.1:${servePort}, publicUrl: http://127.0.0.1:${servePort} }`,
        'log: { level: info, format: json }',
        'plugins:',
        '  auth-providers: { dockerConfig: false }',
        `  oci-sync: { schedule: "0 0 1 1 *", sources: [${upstream.host}/aquasec], artifacts: [${artifact}] }`,
        '  vexhub-mirror: { repositories: [] }',
        '',
      ].join('\n'),
    ).then(() => path);
  };
  const updatedAt = (a: GeneratedArtifact) =>
    (JSON.parse(a.metadataJson!.toString()) as Json).UpdatedAt as string;
  const storeIndex = () => readFile(join(stateDir, 'oci', 'trivy-db', 'index.json'), 'utf8');
  const storedDigest = async () =>
    (
      JSON.parse(await storeIndex()) as { manifests: { digest: string; annotations?: Json }[] }
    ).manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === '2')?.digest;

  before(async () => {
    work = await tempDir('sync-rollback');
    upstream = await startRegistry();
    stateDir = join(work.dir, 'state');
    adminPort = await freePort();
    servePort = await freePort();
    const fresh = new Date(Math.floor(Date.now() / 1000) * 1000);
    const gen = (seed: string, at: Date) =>
      generateArtifact({
        kind: 'trivy-db',
        dbBytes: 64 * 1024,
        seed,
        updatedAt: at,
        workDir: join(work.dir, seed),
      });
    newer = await gen('rollback-new', fresh);
    older = await gen('rollback-old', new Date(fresh.getTime() - 2 * DAY));
    await pushArtifact(upstream.url, 'aquasec/trivy-db', '2', newer);
    const first = await runCli(['sync', '--config', await config(), '--only', 'oci-sync']);
    assert.equal(first.code, 0, `${first.stdout}${first.stderr}`);
    assert.equal(await storedDigest(), newer.manifestDigest);
    // upstream goes back to an older build
    await pushArtifact(upstream.url, 'aquasec/trivy-db', '2', older);
  });
  after(async () => {
    await upstream?.stop();
    await work?.remove();
  });

  test('`sync` refuses the older upstream db, names both versions and the flag, and changes nothing', async () => {
    const index = await storeIndex();
    const r = await runCli(['sync', '--config', await config(), '--only', 'oci-sync']);
    assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
    const line =
      r.stdout.split('\n').find((l) => l.includes('trivy-db:2') && l.includes('failed')) ?? r.stdout;
    assert.ok(
      line.includes(
        `rollback refused: ${upstream.host}/aquasec/trivy-db:2@${older.manifestDigest} has UpdatedAt ${updatedAt(older)}, ` +
          `older than the served ${newer.manifestDigest} (UpdatedAt ${updatedAt(newer)}); the store keeps serving ${newer.manifestDigest}`,
      ),
      line,
    );
    assert.match(line, /`trivy-mirror sync --allow-rollback`, or allowRollback: true on trivy-db/);
    assert.equal(await storeIndex(), index, 'index.json unchanged');

    // the job result classifies it; a second refusal is the remembered one (no download)
    const json = await runCli(['sync', '--config', await config(), '--only', 'oci-sync', '--json']);
    assert.equal(json.code, 1);
    const [record] = JSON.parse(json.stdout) as Json[];
    assert.equal((record.error as Json).code, 'ROLLBACK_REFUSED');
    const [detail] = (record.details as { artifacts: Json[] }).artifacts;
    assert.equal(detail.code, 'ROLLBACK_REFUSED');
    assert.equal(detail.bytesDownloaded, 0);
    assert.equal(await storeIndex(), index, 'index.json unchanged');
  });

  test('the daemon refuses it too: job result, /status and logs name it; /v2/ serves the newer db', async () => {
    const daemon = await startDaemon({
      args: ['run', '--config', await config()],
      adminUrl: `http://127.0.0.1:${adminPort}`,
    });
    try {
      await waitReady(daemon, 60_000);
      const run = await runJob(daemon, 'oci-sync');
      assert.equal(run.status, 'failure');
      const oci = ((await getStatus(daemon)).components as Record<string, Json>)['oci-sync'];
      const db = (oci.artifacts as Record<string, Json>)['trivy-db:2'];
      const lastError = db.lastError as Json;
      assert.equal(lastError.code, 'ROLLBACK_REFUSED');
      assert.match(
        String(lastError.message),
        new RegExp(`${older.manifestDigest}.*older than the served ${newer.manifestDigest}`),
      );
      assert.equal(db.manifestDigest, newer.manifestDigest);
      const logged = daemon
        .logs()
        .find((l) => l.msg === 'sync failed' && (l.err as Json | undefined)?.code === 'ROLLBACK_REFUSED');
      assert.ok(logged, 'a sync failed log line with the code');
      const m = await getManifest(`http://127.0.0.1:${servePort}`, 'trivy-db', '2');
      assert.equal(m.status, 200);
      assert.equal(sha256(m.bytes), newer.manifestDigest);
    } finally {
      await daemon.stop();
    }
  });

  test('`sync --allow-rollback` takes the older db; allowRollback: true on the artifact does too', async () => {
    const r = await runCli(['sync', '--config', await config(), '--only', 'oci-sync', '--allow-rollback']);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`trivy-db:2\\s+updated\\s+${older.manifestDigest.slice(0, 19)}`));
    assert.equal(await storedDigest(), older.manifestDigest);

    // forward again without a flag, then back with the config switch
    await pushArtifact(upstream.url, 'aquasec/trivy-db', '2', newer);
    const forward = await runCli(['sync', '--config', await config(), '--only', 'oci-sync']);
    assert.equal(forward.code, 0, `${forward.stdout}${forward.stderr}`);
    assert.equal(await storedDigest(), newer.manifestDigest);
    await pushArtifact(upstream.url, 'aquasec/trivy-db', '2', older);
    const check = await runCli(['config', 'check', '--config', await config(true)]);
    assert.equal(check.code, 0, `${check.stdout}${check.stderr}`);
    const back = await runCli(['sync', '--config', await config(true), '--only', 'oci-sync']);
    assert.equal(back.code, 0, `${back.stdout}${back.stderr}`);
    assert.equal(await storedDigest(), older.manifestDigest);
  });
});

describe('no silent rollback: VEX (e2e)', { timeout: 120_000 }, () => {
  test('an upstream VEX index older than the served one is refused; --allow-rollback takes it', async () => {
    const work = await tempDir('vex-rollback');
    const vex = await startVexServer();
    try {
      const state = join(work.dir, 'state');
      const config = join(work.dir, 'config.yaml');
      await writeFile(
        config,
        [
          `stateDir: ${state}`,
          'admin: { listen: 127.0.0.1:0 }',
          'plugins:',
          '  auth-providers: { dockerConfig: false }',
          '  oci-sync: { artifacts: [] }',
          `  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }`,
          '',
        ].join('\n'),
      );
      const current = () =>
        readFile(join(state, 'plugins', 'vexhub-mirror', 'repositories', 'vexhub', 'current.json'), 'utf8');
      const first = await runCli(['sync', '--config', config, '--only', 'vexhub-mirror']);
      assert.equal(first.code, 0, `${first.stdout}${first.stderr}`);
      const served = JSON.parse(await current()) as { version: string; updatedAt: string };
      const older = new Date(Date.parse(served.updatedAt) - 2 * DAY).toISOString().replace(/\.\d+Z$/, 'Z');
      const olderZip = await zipWithIndex((index) => {
        index.updated_at = older;
      });
      vex.setArchive('zip', olderZip);
      const before = await current();

      const refused = await runCli(['sync', '--config', config, '--only', 'vexhub-mirror', '--json']);
      assert.equal(refused.code, 1, `${refused.stdout}${refused.stderr}`);
      const [record] = JSON.parse(refused.stdout) as Json[];
      const error = record.error as Json;
      assert.equal(error.code, 'ROLLBACK_REFUSED');
      assert.ok(
        String(error.message).includes(
          `${sha256(olderZip)} (updated_at ${older}) is older than the served sha256:${served.version} (updated_at ${served.updatedAt})`,
        ),
        String(error.message),
      );
      assert.match(String(error.message), /--allow-rollback/);
      assert.equal(await current(), before, 'the served version stays');

      const taken = await runCli(['sync', '--config', config, '--only', 'vexhub-mirror', '--allow-rollback']);
      assert.equal(taken.code, 0, `${taken.stdout}${taken.stderr}`);
      assert.equal((JSON.parse(await current()) as { version: string }).version, sha256(olderZip).slice(7));
    } finally {
      await vex.close();
      await work.remove();
    }
  });
});

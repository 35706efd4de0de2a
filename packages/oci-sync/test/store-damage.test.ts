// Self-healing store, with a real upstream registry: a reported bad blob is checked, quarantined,
// named by /readyz and fetched again by the next run; a torn index.json is rebuilt; a stale report
// moves nothing; sync requests back off; without an upstream the newest complete older version is
// served and the job says which import repairs it.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  flipByte,
  generateArtifact,
  pushArtifact,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { OciLayout, QUARANTINE_DIR } from '@trivy-mirror/oci';
import { LifecycleContribution } from '@trivy-mirror/plugin-api';
import type { OciSyncJob } from '../src/sync/sync-job.js';
import { createHarness, type Harness, sha256 } from './sync-harness.js';

describe('oci-sync self-healing store', () => {
  let work: string;
  let upstream: RunningRegistry;
  let seeded: SeedUpstreamResult;
  let h: Harness;
  let job: OciSyncJob;
  let layerOf: (name: string) => string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'oci-sync-damage-'));
    upstream = await startRegistry();
    seeded = await seedUpstream({
      registryUrl: upstream.url,
      prefix: 'aquasec',
      workDir: join(work, 'gen'),
      dbBytes: 256 * 1024,
      javaDbBytes: 128 * 1024,
      updatedAt: new Date('2026-11-25T00:00:00Z'),
    });
    layerOf = (name) => seeded.artifacts.find((a) => a.name === name)?.layerDigest ?? '';
    h = await createHarness(join(work, 'state'), { sources: [`${upstream.host}/aquasec`] });
    job = h.job as OciSyncJob;
    const first = await h.run();
    assert.equal(first.status, 'success', first.summary);
  });

  after(async () => {
    await h?.stop();
    await h?.close();
    await upstream?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('a flipped byte reported by a reader: quarantined, named by /readyz, fetched again by the next run', async () => {
    const layer = layerOf('trivy-db');
    const layout = await OciLayout.open(join(h.storeRoot, 'trivy-db'));
    await flipByte(layout.blobPath(layer), 1000);
    h.events.length = 0;
    const record = await job.damage.check({
      repository: 'trivy-db',
      digest: layer,
      reason: 'content hashes to something else',
      reporter: 'serve',
    });
    assert.equal(record?.kind, 'bad');
    assert.match(record?.reason ?? '', /content hashes to sha256:[a-f0-9]{64} \(\d+ bytes\)/);
    assert.equal(await layout.blobHas(layer), false, 'moved out of blobs/');
    const quarantined = await readdir(join(layout.dir, QUARANTINE_DIR));
    assert.equal(quarantined.length, 1);
    assert.ok(quarantined[0].startsWith(layer.slice(7)));
    assert.deepEqual(
      h.events
        .filter((e) => e.name === 'sync.requested')
        .map((e) => (e.payload as { repository: string }).repository),
      ['trivy-db'],
    );

    const health = await h.health.check();
    assert.equal(health.ready, false);
    assert.match(health.reason ?? '', /damaged in the store: trivy-db:2 \(version sha256:[a-f0-9]{64}: /);
    assert.match(
      health.reason ?? '',
      new RegExp(`${layer} content hashes to .*moved to .*quarantine.*; fetching it again`),
    );

    const outcome = await h.run();
    assert.equal(outcome.status, 'success', outcome.summary);
    assert.match(outcome.summary, /1 repaired \(trivy-db:2\)/);
    assert.equal(sha256(await readFile(layout.blobPath(layer))), layer);
    assert.ok(h.logs.some((l) => l.includes('damaged version fetched again')));
    const after = await h.health.check();
    assert.equal(after.ready, true, after.reason);
    assert.deepEqual(job.damage.records(), []);
  });

  test('a report of a blob that verifies moves nothing', async () => {
    const layer = layerOf('trivy-java-db');
    const layout = await OciLayout.open(join(h.storeRoot, 'trivy-java-db'));
    const record = await job.damage.check({
      repository: 'trivy-java-db',
      digest: layer,
      reason: 'x',
      reporter: 'test',
    });
    assert.equal(record, undefined);
    assert.equal(await layout.blobHas(layer), true);
    assert.ok(h.logs.some((l) => l.includes('reported damage not found: the blob verifies')));
  });

  test('a deleted blob reported by a crowd: one sync request, backed off', async () => {
    const layer = layerOf('trivy-java-db');
    const layout = await OciLayout.open(join(h.storeRoot, 'trivy-java-db'));
    await rm(layout.blobPath(layer));
    h.events.length = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        job.damage.check({
          repository: 'trivy-java-db',
          digest: layer,
          reason: 'missing from the store',
          reporter: 'serve',
        }),
      ),
    );
    assert.equal(h.events.filter((e) => e.name === 'sync.requested').length, 1);
    assert.equal(job.damage.recordOf('trivy-java-db', layer)?.kind, 'missing');
    const outcome = await h.run();
    assert.match(outcome.summary, /repaired \(trivy-java-db:1\)/);
    assert.equal((await h.health.check()).ready, true);
  });

  test('the lifecycle listens to artifact.damaged from other plugins', async () => {
    const lifecycle = h.container
      .getAll<LifecycleContribution>(LifecycleContribution)
      .find((l) => l.id === 'oci-sync.damage');
    await lifecycle?.start?.(AbortSignal.timeout(1000));
    const layer = layerOf('trivy-java-db');
    const layout = await OciLayout.open(join(h.storeRoot, 'trivy-java-db'));
    await rm(layout.blobPath(layer));
    h.events.length = 0;
    const bus = h.container.get<{ emit: (n: string, p: unknown) => void }>(
      Symbol.for('trivy-mirror.EventBus'),
    );
    bus.emit('artifact.damaged', {
      repository: 'trivy-java-db',
      digest: layer,
      reason: 'gone',
      reporter: 'cache-populator',
    });
    for (let i = 0; i < 100 && !job.damage.recordOf('trivy-java-db', layer); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(job.damage.recordOf('trivy-java-db', layer)?.reporter, 'cache-populator');
    assert.ok(h.events.some((e) => e.name === 'sync.requested'));
    await h.run();
    assert.equal(await layout.blobHas(layer), true);
  });

  test('a torn index.json: /readyz names it, the next run rebuilds it from the blobs with the same tags', async () => {
    const layout = await OciLayout.open(join(h.storeRoot, 'trivy-checks'));
    const before = await readFile(join(layout.dir, 'index.json'), 'utf8');
    const digests = { '1': (await layout.resolve('1'))?.digest, '2': (await layout.resolve('2'))?.digest };
    await writeFile(join(layout.dir, 'index.json'), before.slice(0, before.length / 2));
    const health = await h.health.check();
    assert.equal(health.ready, false);
    assert.match(
      health.reason ?? '',
      /damaged in the store: trivy-checks \(.*index\.json is not a valid image index; oci-sync rebuilds it/,
    );
    const outcome = await h.run();
    assert.equal(outcome.status, 'skipped', outcome.summary);
    assert.equal((await layout.resolve('1'))?.digest, digests['1']);
    assert.equal((await layout.resolve('2'))?.digest, digests['2']);
    assert.ok(h.logs.some((l) => l.includes('index.json was damaged: rebuilt from the blobs')));
    const kept = (await readdir(join(layout.dir, QUARANTINE_DIR))).filter((n) => n.startsWith('index.json.'));
    assert.equal(kept.length, 1);
    assert.equal(
      await readFile(join(layout.dir, QUARANTINE_DIR, kept[0]), 'utf8'),
      before.slice(0, before.length / 2),
    );
    assert.equal((await h.health.check()).ready, true);
  });

  describe('without an upstream (sources: [])', () => {
    let inside: Harness;
    let server: Server;
    let base: string;
    let older: string;
    let current: string;

    before(async () => {
      // a second trivy-db version upstream, synced: the store keeps the first as history
      const next = await generateArtifact({
        kind: 'trivy-db',
        dbBytes: 256 * 1024,
        seed: 'damage-next',
        workDir: join(work, 'next'),
      });
      await pushArtifact(upstream.url, 'aquasec/trivy-db', '2', next);
      await h.run();
      older = seeded.digests['trivy-db:2'] ?? '';
      current = next.manifestDigest;
      inside = await createHarness(join(work, 'state'), {
        sources: [],
        serve: { enabled: true, prefix: [] },
      });
      const route = inside.routes[0];
      server = createServer(async (req, res) => {
        if (!(await route.handle(req, res, new URL(req.url ?? '/', 'http://x')))) res.writeHead(404).end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(async () => {
      server?.closeAllConnections();
      await new Promise((r) => server?.close(r));
      await inside?.close();
    });

    test('the newest complete older version is served; /readyz and the job name the import that repairs it', async () => {
      const layout = await OciLayout.open(join(inside.storeRoot, 'trivy-db'));
      const m = JSON.parse((await readFile(layout.blobPath(current))).toString()) as {
        layers: { digest: string }[];
      };
      const layer = m.layers[0].digest;
      const saved = join(work, 'saved-layer');
      await copyFile(layout.blobPath(layer), saved);
      await rm(layout.blobPath(layer));

      // a client asks: the route reports it, and the tag answers with the older version
      const first = await fetch(`${base}/v2/trivy-db/blobs/${layer}`);
      assert.equal(first.status, 503);
      await first.arrayBuffer();
      const damage = (inside.job as OciSyncJob).damage;
      await damage.check({
        repository: 'trivy-db',
        digest: layer,
        reason: 'missing from the store',
        reporter: 'serve',
      });
      const byTag = await fetch(`${base}/v2/trivy-db/manifests/2`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(byTag.status, 200);
      assert.equal(byTag.headers.get('docker-content-digest'), older);
      await byTag.arrayBuffer();

      const health = await inside.health.check();
      assert.equal(health.ready, false);
      assert.match(
        health.reason ?? '',
        new RegExp(
          `damaged in the store: trivy-db:2 \\(version ${current}: .*; serving the older version ${older} meanwhile; no upstream: import an export that holds trivy-db:2@${current}`,
        ),
      );
      const outcome = await inside.run().catch((err: Error) => err);
      assert.ok(outcome instanceof Error);
      assert.match(
        outcome.message,
        new RegExp(
          `trivy-db:2: the stored version ${current} is damaged .*serving the older version ${older} meanwhile.*import an export that holds trivy-db:2@${current}`,
        ),
      );

      // the blob comes back (an import): the tag is the current version again at once
      await copyFile(saved, layout.blobPath(layer));
      const again = await fetch(`${base}/v2/trivy-db/manifests/2`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(again.headers.get('docker-content-digest'), current);
      await again.arrayBuffer();
      assert.equal((await inside.health.check()).ready, true);
    });
  });
});

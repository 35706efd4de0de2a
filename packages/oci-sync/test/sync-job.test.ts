// Full sync against real registries: a seeded upstream (behind a counting proxy) → store → two
// destinations; the second run moves nothing; the store is served by the /v2/ route; export/import.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  type FaultProxy,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startFaultProxy,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { OciLayout, parseReference } from '@trivy-mirror/oci';
import { ArchiveInvalidError } from '@trivy-mirror/plugin-api';
import { exportStore, importStore } from '../src/index.js';
import { createHarness, type Harness, sha256, storedEvents } from './sync-harness.js';

const run = promisify(execFile);
const KEYS = ['trivy-db:2', 'trivy-java-db:1', 'trivy-checks:1', 'trivy-checks:2'];

describe('oci-sync job against real registries', () => {
  let work: string;
  let upstream: RunningRegistry;
  let proxy: FaultProxy;
  let dest1: RunningRegistry;
  let dest2: RunningRegistry;
  let seeded: SeedUpstreamResult;
  let h: Harness;
  let server: Server | undefined;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'oci-sync-job-'));
    [upstream, dest1, dest2] = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
    seeded = await seedUpstream({
      registryUrl: upstream.url,
      prefix: 'aquasec',
      workDir: join(work, 'gen'),
      dbBytes: 512 * 1024,
      javaDbBytes: 256 * 1024,
      updatedAt: new Date('2026-11-25T00:00:00Z'),
      nextUpdate: new Date('2026-11-25T06:00:00Z'),
    });
    proxy = await startFaultProxy({ upstream: upstream.url });
    h = await createHarness(join(work, 'state'), {
      sources: [`${proxy.host}/aquasec`],
      destinations: [`${dest1.host}/trivy`, dest2.host],
      serve: { enabled: true, prefix: ['aquasec'] },
    });
  });

  after(async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise((r) => server?.close(r));
    }
    await h?.close();
    await Promise.all([proxy?.stop(), upstream?.stop(), dest1?.stop(), dest2?.stop()]);
    await rm(work, { recursive: true, force: true });
  });

  test('first run stores every artifact and pushes byte-identical copies to both destinations', async () => {
    assert.equal((await h.health.check()).ready, false);
    const outcome = await h.run();
    assert.equal(outcome.status, 'success', outcome.summary);
    // every layer came down once and went up twice
    const layers = seeded.artifacts.reduce((n, a) => n + a.layerSize, 0);
    assert.ok((outcome.bytes ?? 0) >= 3 * layers, `bytes ${outcome.bytes} < 3 × ${layers}`);

    for (const key of KEYS) {
      const [name, tag] = key.split(':');
      const layout = await OciLayout.open(join(h.storeRoot, name));
      const stored = await layout.manifestGet(tag);
      assert.equal(stored?.descriptor.digest, seeded.digests[key], `store ${key}`);
      for (const dest of [`${dest1.host}/trivy`, dest2.host]) {
        const ref = parseReference(`${dest}/${name}:${tag}`);
        const head = await h.client.manifestHead(ref);
        assert.equal(head?.digest, seeded.digests[key], `HEAD ${dest} ${key}`);
      }
    }
    // an independent client sees the same bytes on both destinations
    for (const ref of [`${dest1.host}/trivy/trivy-db:2`, `${dest2.host}/trivy-checks:1`]) {
      const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], {
        encoding: 'buffer',
      });
      assert.equal(sha256(stdout), seeded.digests[ref.split('/').pop() as string], ref);
    }

    const events = storedEvents(h);
    assert.equal(events.length, 4);
    assert.ok(events.every((e) => e.changed));
    const db = events.find((e) => e.repository === 'trivy-db');
    assert.equal(db?.layer.mediaType, 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip');
    assert.equal(db?.layer.title, 'db.tar.gz');

    // metadata.json is read after the run, from the store
    await h.metadataRead();
    const health = await h.health.check();
    assert.equal(health.ready, true, health.reason);
    const status = ((health.status?.artifacts ?? {}) as Record<string, Record<string, unknown>>)[
      'trivy-db:2'
    ];
    assert.equal(status.source, `${proxy.host}/aquasec/trivy-db:2`);
    assert.equal(status.manifestDigest, seeded.digests['trivy-db:2']);
    assert.equal(status.updatedAt, '2026-11-25T00:00:00Z');
    assert.equal(status.nextUpdate, '2026-11-25T06:00:00Z');
    assert.ok(status.lastSuccess);

    const metrics = await h.metrics.metrics();
    assert.match(
      metrics,
      /trivy_mirror_artifact_updated_timestamp_seconds\{artifact="trivy-db",tag="2"\} 1795564800/,
    );
    assert.match(
      metrics,
      /trivy_mirror_artifact_next_update_timestamp_seconds\{artifact="trivy-java-db",tag="1"\} 1795586400/,
    );
    assert.match(metrics, /trivy_mirror_sync_bytes_total\{artifact="trivy-db"\} \d{6,}/);
  });

  test('second run transfers nothing: one manifest HEAD per artifact tag upstream, outcome skipped', async () => {
    proxy.log.length = 0;
    const eventsBefore = h.events.length;
    const outcome = await h.run();
    assert.equal(outcome.status, 'skipped', outcome.summary);
    assert.equal(outcome.bytes, 0);
    const requests = proxy.log.map((e) => `${e.method} ${e.path}`);
    assert.equal(requests.filter((r) => r.includes('/blobs/')).length, 0, requests.join('\n'));
    assert.deepEqual(
      requests.filter((r) => r.includes('/manifests/')).map((r) => r.split(' ')[0]),
      ['HEAD', 'HEAD', 'HEAD', 'HEAD'],
    );
    const events = h.events.slice(eventsBefore).filter((e) => e.name === 'artifact.stored');
    assert.equal(events.length, 4);
    assert.ok(events.every((e) => !(e.payload as { changed: boolean }).changed));
  });

  test('a store that lost a layer gets it back on the next run', async () => {
    const layer = seeded.artifacts.find((a) => a.name === 'trivy-db')?.layerDigest ?? '';
    const layout = await OciLayout.open(join(h.storeRoot, 'trivy-db'));
    await rm(layout.blobPath(layer));
    proxy.log.length = 0;
    const outcome = await h.run();
    assert.equal(outcome.status, 'success', outcome.summary);
    assert.equal(await layout.blobHas(layer), true);
    assert.equal(sha256(await readFile(layout.blobPath(layer))), layer);
    const blobGets = proxy.log.filter((e) => e.method === 'GET' && e.path.includes('/blobs/'));
    assert.deepEqual(
      blobGets.map((e) => e.path.split('/').pop()),
      [layer],
    );
  });

  test('the /v2/ route serves the store to skopeo, under the plain names and the prefix', async () => {
    assert.equal(h.routes.length, 1);
    const route = h.routes[0];
    assert.equal(route.listener, 'serve');
    server = createServer(async (req, res) => {
      if (!(await route.handle(req, res, new URL(req.url ?? '/', 'http://x')))) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const out = join(work, 'from-route');
    await run(
      'skopeo',
      ['copy', '--src-tls-verify=false', `docker://${host}/aquasec/trivy-db:2`, `oci:${out}:2`],
      {
        timeout: 60_000,
      },
    );
    const copied = await (await OciLayout.open(out)).manifestGet('2');
    assert.equal(copied?.descriptor.digest, seeded.digests['trivy-db:2']);
    const r = await fetch(`http://${host}/v2/trivy-checks/manifests/2`, { method: 'HEAD' });
    assert.equal(r.headers.get('docker-content-digest'), seeded.digests['trivy-checks:2']);
    const cfg = h.clientConfig[0].render({ publicUrl: `http://${host}` })!;
    assert.ok(cfg.flags?.includes(`--db-repository ${host}/trivy-db:2`), JSON.stringify(cfg.flags));
    assert.ok(cfg.flags?.includes(`--checks-bundle-repository ${host}/trivy-checks:2`));
    assert.ok(cfg.flags?.includes('--insecure'));
  });

  test('export then import into an empty store gives the same digests; a tampered export is refused', async () => {
    const out = join(work, 'export');
    const report = await exportStore({ storeRoot: h.storeRoot, outDir: out });
    assert.deepEqual(report.repositories.map((r) => r.repository).sort(), [
      'trivy-checks',
      'trivy-db',
      'trivy-java-db',
    ]);
    // idempotent: a second export copies nothing
    const again = await exportStore({ storeRoot: h.storeRoot, outDir: out });
    assert.equal(
      again.repositories.reduce((n, r) => n + r.blobsCopied, 0),
      0,
    );

    const target = join(work, 'imported');
    await importStore({ storeRoot: target, inDir: out });
    for (const key of KEYS) {
      const [name, tag] = key.split(':');
      const m = await (await OciLayout.open(join(target, name))).manifestGet(tag);
      assert.equal(m?.descriptor.digest, seeded.digests[key], key);
    }
    // skopeo reads the imported layout
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${join(target, 'trivy-java-db')}:1`], {
      encoding: 'buffer',
    });
    assert.equal(sha256(stdout), seeded.digests['trivy-java-db:1']);

    // flip one byte of the db layer in the export: import must refuse and change nothing
    const layer = seeded.artifacts.find((a) => a.name === 'trivy-db')?.layerDigest ?? '';
    const blob = join(out, 'trivy-db', 'blobs', 'sha256', layer.slice('sha256:'.length));
    const bytes = await readFile(blob);
    bytes[100] ^= 0xff;
    await writeFile(blob, bytes);
    const empty = join(work, 'untouched');
    await assert.rejects(importStore({ storeRoot: empty, inDir: out }), (err: unknown) => {
      assert.ok(err instanceof ArchiveInvalidError);
      assert.match(
        (err as Error).message,
        /trivy-db: blob sha256:[0-9a-f]{64} \(\S+trivy-db\/blobs\/sha256\/[0-9a-f]{64}\): content hashes to sha256:[0-9a-f]{64} \(tampered or damaged\)/,
      );
      return true;
    });
    assert.deepEqual(await readdir(empty).catch(() => []), []);
  });
});

// The /v2/ handler over a damaged store: a blob that does not hash to its digest is cut before its
// last byte (never a complete wrong body), then answered 503; a referenced blob or manifest that is
// missing and a torn index.json are 503 UNAVAILABLE too; each is reported to onBlobDamaged.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { flipByte } from '@trivy-mirror/fixtures';
import { OciLayout } from '../src/layout/layout.js';
import { createRegistryHandler } from '../src/serve/registry-handler.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const MiB = 1024 * 1024;

interface Stored {
  manifest: Buffer;
  digest: string;
  layer: Buffer;
  layerDigest: string;
  config: Buffer;
  configDigest: string;
}

async function store(layout: OciLayout, tag: string, layerBytes: number): Promise<Stored> {
  const layer = randomBytes(layerBytes);
  const config = Buffer.from(`{"v":"${randomBytes(4).toString('hex')}"}`);
  await layout.blobWriteBytes(layer);
  await layout.blobWriteBytes(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.aquasec.trivy.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip',
          digest: sha256(layer),
          size: layer.length,
          annotations: { 'org.opencontainers.image.title': 'db.tar.gz' },
        },
      ],
    }),
  );
  await layout.manifestPut(manifest, 'application/vnd.oci.image.manifest.v1+json', { tag });
  return {
    manifest,
    digest: sha256(manifest),
    layer,
    layerDigest: sha256(layer),
    config,
    configDigest: sha256(config),
  };
}

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The body arrived to its end (not cut). */
  complete: boolean;
}

/** GET with node:http, which tells a body cut short from one that ended. */
function getRaw(url: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let complete = false;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (complete = true));
      res.on('error', () => undefined);
      res.on('close', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete }),
      );
    });
    req.on('error', reject);
  });
}

describe('registry handler on a damaged store', () => {
  let root: string;
  let server: Server;
  let base: string;
  let layout: OciLayout;
  let v: Stored;
  let reports: { repository: string; digest?: string; reason: string }[];
  let fallback: string | undefined;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'registry-damage-'));
    const handler = createRegistryHandler({
      resolveLayout: async (name) => (name === 'trivy-db' ? layout : undefined),
      repositories: async () => ['trivy-db'],
      pathPrefix: 'aquasec',
      onBlobDamaged: (repository, digest, reason) => reports.push({ repository, digest, reason }),
      tagFallback: (repository, tag) => (repository === 'trivy-db' && tag === '2' ? fallback : undefined),
      retryAfterSeconds: 7,
    });
    server = createServer((req, res) => {
      void handler(req, res).then((handled) => {
        if (!handled) res.writeHead(404).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(root, { recursive: true, force: true });
  });

  beforeEach(async () => {
    layout = await OciLayout.open(join(root, randomBytes(4).toString('hex')), { create: true });
    v = await store(layout, '2', 3 * MiB + 123);
    reports = [];
    fallback = undefined;
  });

  test('a good blob is served whole, also again and by range', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await getRaw(`${base}/v2/trivy-db/blobs/${v.layerDigest}`);
      assert.equal(r.status, 200);
      assert.ok(r.complete);
      assert.equal(sha256(r.body), v.layerDigest);
    }
    const part = await getRaw(`${base}/v2/trivy-db/blobs/${v.layerDigest}`, { range: 'bytes=10-2097161' });
    assert.equal(part.status, 206);
    assert.ok(part.complete);
    assert.deepEqual(part.body, v.layer.subarray(10, 2097162));
    assert.deepEqual(reports, []);
  });

  test('a flipped byte: the body is cut before its end, reported, then 503 until the file is replaced', async () => {
    const path = layout.blobPath(v.layerDigest);
    // verified and trusted first: a later write into the file must still be noticed
    assert.equal(sha256((await getRaw(`${base}/v2/trivy-db/blobs/${v.layerDigest}`)).body), v.layerDigest);
    await flipByte(path, 2 * MiB + 5);
    const cut = await getRaw(`${base}/v2/aquasec/trivy-db/blobs/${v.layerDigest}`);
    assert.equal(cut.status, 200);
    assert.equal(cut.complete, false, 'the body must not end normally');
    assert.ok(cut.body.length < v.layer.length, `got ${cut.body.length} of ${v.layer.length} bytes`);
    assert.equal(reports.length, 1);
    assert.equal(reports[0].repository, 'trivy-db');
    assert.equal(reports[0].digest, v.layerDigest);
    assert.match(reports[0].reason, /hashes to sha256:/);

    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(`${base}/v2/trivy-db/blobs/${v.layerDigest}`, { method });
      assert.equal(res.status, 503, method);
      assert.equal(res.headers.get('retry-after'), '7');
      if (method === 'GET')
        assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0].code, 'UNAVAILABLE');
    }
    // a range is never a way around it
    const part = await fetch(`${base}/v2/trivy-db/blobs/${v.layerDigest}`, {
      headers: { range: 'bytes=0-99' },
    });
    assert.equal(part.status, 503);

    // the owner puts a good copy in place (a new file): served again
    await writeFile(`${path}.new`, v.layer);
    await rename(`${path}.new`, path);
    const good = await getRaw(`${base}/v2/trivy-db/blobs/${v.layerDigest}`);
    assert.equal(good.status, 200);
    assert.ok(good.complete);
    assert.equal(sha256(good.body), v.layerDigest);
  });

  test('an unverified bad blob asked for by range: cut too, never a complete range', async () => {
    await flipByte(layout.blobPath(v.layerDigest), 100);
    const r = await getRaw(`${base}/v2/trivy-db/blobs/${v.layerDigest}`, { range: `bytes=0-${2 * MiB}` });
    assert.equal(r.complete, false);
    assert.ok(r.body.length < 2 * MiB + 1, `got ${r.body.length} bytes of the range`);
    assert.equal(reports.length, 1);
  });

  test('a small bad blob (one chunk) gets a clean 503 and no bytes at all', async () => {
    await flipByte(layout.blobPath(v.configDigest), 1);
    const r = await getRaw(`${base}/v2/trivy-db/blobs/${v.configDigest}`);
    assert.equal(r.status, 503);
    assert.match(r.body.toString(), /UNAVAILABLE/);
    assert.equal(reports[0]?.digest, v.configDigest);
  });

  test('concurrent first downloads share one verdict, and all of them are cut', async () => {
    await flipByte(layout.blobPath(v.layerDigest), 3 * MiB);
    const all = await Promise.all(
      Array.from({ length: 4 }, () => getRaw(`${base}/v2/trivy-db/blobs/${v.layerDigest}`)),
    );
    for (const r of all)
      assert.ok(r.status === 503 || !r.complete, `status ${r.status}, complete ${r.complete}`);
    assert.ok(reports.length >= 1);
  });

  test('a referenced blob that is missing: 503 and reported; an unknown one stays 404', async () => {
    await unlink(layout.blobPath(v.layerDigest));
    const res = await fetch(`${base}/v2/trivy-db/blobs/${v.layerDigest}`);
    assert.equal(res.status, 503);
    await res.arrayBuffer();
    assert.deepEqual(reports, [
      { repository: 'trivy-db', digest: v.layerDigest, reason: 'missing from the store' },
    ]);
    const unknown = await fetch(`${base}/v2/trivy-db/blobs/sha256:${'1'.repeat(64)}`);
    assert.equal(unknown.status, 404);
    await unknown.arrayBuffer();
    assert.equal(reports.length, 1);
  });

  test('a manifest blob flipped or missing: 503 naming it, reported with its digest', async () => {
    await flipByte(layout.blobPath(v.digest), 10);
    const bad = await fetch(`${base}/v2/trivy-db/manifests/2`);
    assert.equal(bad.status, 503);
    await bad.arrayBuffer();
    assert.equal(reports[0]?.digest, v.digest);
    await unlink(layout.blobPath(v.digest));
    const gone = await fetch(`${base}/v2/trivy-db/manifests/2`);
    assert.equal(gone.status, 503);
    await gone.arrayBuffer();
    assert.deepEqual(reports[1], {
      repository: 'trivy-db',
      digest: v.digest,
      reason: 'missing from the store',
    });
  });

  test('a torn index.json: 503 on manifests and tags, reported without a digest', async () => {
    await writeFile(join(layout.dir, 'index.json'), '{"schemaVersion":2,"manifests":[{"mediaT');
    for (const path of ['/v2/trivy-db/manifests/2', '/v2/trivy-db/tags/list']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 503, path);
      assert.match(await res.text(), /index of trivy-db is damaged/);
    }
    assert.equal(reports.length, 2);
    assert.equal(reports[0].digest, undefined);
    assert.match(reports[0].reason, /index\.json is not a valid image index/);
  });

  test('tagFallback serves another version for the tag', async () => {
    const older = await store(layout, 'old', 1000);
    fallback = older.digest;
    const res = await fetch(`${base}/v2/trivy-db/manifests/2`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), older.digest);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), older.manifest);
  });
});

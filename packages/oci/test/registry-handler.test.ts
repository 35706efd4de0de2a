// The read-only /v2/ endpoint over layouts, driven by plain fetch and by skopeo.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { createRegistryHandler } from '../src/serve/registry-handler.js';
import { OciLayout } from '../src/layout/layout.js';

const run = promisify(execFile);
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Version {
  manifest: Buffer;
  digest: string;
  layer: Buffer;
  layerDigest: string;
}

/** A small trivy-db-shaped artifact (OCI 1.1 shape); `layerBytes` of random-ish content, gzipped. */
async function writeVersion(layout: OciLayout, tag: string, layerBytes: number): Promise<Version> {
  const layer = gzipSync(randomBytes(layerBytes), { level: 0 });
  const config = Buffer.from('{}');
  await layout.blobWriteBytes(layer);
  await layout.blobWriteBytes(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.aquasec.trivy.config.v1+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(config), size: config.length },
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
  return { manifest, digest: sha256(manifest), layer, layerDigest: sha256(layer) };
}

describe('registry handler', () => {
  let root: string;
  let server: Server;
  let base: string;
  let host: string;
  let db: OciLayout;
  let nested: OciLayout;
  let v1: Version;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'registry-handler-'));
    db = await OciLayout.open(join(root, 'trivy-db'), { create: true });
    v1 = await writeVersion(db, '2', 4 * 1024 * 1024);
    nested = await OciLayout.open(join(root, 'aquasec', 'trivy-java-db'), { create: true });
    await writeVersion(nested, '1', 1024);
    for (const t of ['a', 'b', 'c', 'd'])
      await nested.manifestPut(
        (await nested.manifestGet('1'))!.bytes,
        'application/vnd.oci.image.manifest.v1+json',
        { tag: t },
      );
    const repos = new Map([
      ['trivy-db', db],
      ['aquasec/trivy-java-db', nested],
    ]);
    const handler = createRegistryHandler({
      resolveLayout: async (name) => repos.get(name),
      repositories: async () => [...repos.keys()],
      pathPrefix: ['mirror', 'aquasecurity'],
      // The server is meant to hold trivy-db:2 and :3 and trivy-checks:2.
      expected: (name, tag) =>
        (name === 'trivy-db' && (tag === undefined || ['2', '3'].includes(tag))) ||
        (name === 'trivy-checks' && (tag === undefined || tag === '2')),
      retryAfterSeconds: 30,
    });
    server = createServer((req, res) => {
      handler(req, res).then((handled) => {
        if (!handled) {
          res.statusCode = 404;
          res.end('not mine');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    base = `http://${host}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(root, { recursive: true, force: true });
  });

  test('GET and HEAD /v2/ answer 200 {} with the API version header', async () => {
    for (const method of ['GET', 'HEAD']) {
      const r = await fetch(`${base}/v2/`, { method });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
      if (method === 'GET') assert.deepEqual(await r.json(), {});
    }
    const other = await fetch(`${base}/other`);
    assert.equal(other.status, 404);
    assert.equal(await other.text(), 'not mine');
  });

  test('manifest by tag and by digest: exact bytes, media type, digest, length, ETag', async () => {
    for (const ref of ['2', v1.digest]) {
      const r = await fetch(`${base}/v2/trivy-db/manifests/${ref}`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json');
      assert.equal(r.headers.get('docker-content-digest'), v1.digest);
      assert.equal(r.headers.get('content-length'), String(v1.manifest.length));
      assert.equal(r.headers.get('etag'), `"${v1.digest}"`);
      assert.deepEqual(Buffer.from(await r.arrayBuffer()), v1.manifest);
    }
    const head = await fetch(`${base}/v2/trivy-db/manifests/2`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('docker-content-digest'), v1.digest);
    assert.equal(head.headers.get('content-length'), String(v1.manifest.length));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  });

  test('repository names with slashes, and under the path prefix', async () => {
    for (const name of ['aquasec/trivy-java-db', 'mirror/aquasec/trivy-java-db', 'mirror/trivy-db']) {
      const r = await fetch(`${base}/v2/${name}/manifests/${name.endsWith('trivy-db') ? '2' : '1'}`, {
        method: 'HEAD',
      });
      assert.equal(r.status, 200, name);
    }
  });

  test('blobs: full body, single ranges, unsatisfiable ranges', async () => {
    const full = await fetch(`${base}/v2/trivy-db/blobs/${v1.layerDigest}`);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('accept-ranges'), 'bytes');
    assert.equal(full.headers.get('docker-content-digest'), v1.layerDigest);
    assert.equal(full.headers.get('content-length'), String(v1.layer.length));
    assert.equal(sha256(Buffer.from(await full.arrayBuffer())), v1.layerDigest);

    const part = await fetch(`${base}/v2/trivy-db/blobs/${v1.layerDigest}`, {
      headers: { range: 'bytes=100-199' },
    });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-199/${v1.layer.length}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), v1.layer.subarray(100, 200));

    const tail = await fetch(`${base}/v2/trivy-db/blobs/${v1.layerDigest}`, {
      headers: { range: 'bytes=-10' },
    });
    assert.equal(tail.status, 206);
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), v1.layer.subarray(v1.layer.length - 10));

    const open = await fetch(`${base}/v2/trivy-db/blobs/${v1.layerDigest}`, {
      headers: { range: `bytes=${v1.layer.length - 5}-` },
    });
    assert.equal(open.status, 206);
    assert.deepEqual(Buffer.from(await open.arrayBuffer()), v1.layer.subarray(v1.layer.length - 5));

    const bad = await fetch(`${base}/v2/trivy-db/blobs/${v1.layerDigest}`, {
      headers: { range: `bytes=${v1.layer.length}-` },
    });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get('content-range'), `bytes */${v1.layer.length}`);
    await bad.arrayBuffer();

    const head = await fetch(`${base}/v2/trivy-db/blobs/${v1.layerDigest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(v1.layer.length));
  });

  test('errors in the distribution format with the right statuses', async () => {
    const cases: [string, string, number, string][] = [
      ['GET', '/v2/trivy-db/manifests/9', 404, 'MANIFEST_UNKNOWN'],
      ['GET', `/v2/trivy-db/manifests/sha256:${'0'.repeat(64)}`, 404, 'MANIFEST_UNKNOWN'],
      ['GET', '/v2/nope/manifests/2', 404, 'NAME_UNKNOWN'],
      ['GET', '/v2/nope/tags/list', 404, 'NAME_UNKNOWN'],
      ['GET', `/v2/trivy-db/blobs/sha256:${'1'.repeat(64)}`, 404, 'BLOB_UNKNOWN'],
      ['GET', '/v2/trivy-db/blobs/sha256:xyz', 400, 'DIGEST_INVALID'],
      ['GET', '/v2/x..y/manifests/2', 400, 'NAME_INVALID'],
      ['GET', '/v2/x%2F..%2Fy/manifests/2', 400, 'NAME_INVALID'],
      ['GET', '/v2/Trivy-DB/manifests/2', 400, 'NAME_INVALID'],
      ['GET', '/v2/trivy-db/referrers/x', 404, 'NOT_FOUND'],
      ['POST', '/v2/trivy-db/blobs/uploads/', 405, 'UNSUPPORTED'],
      ['POST', '/v2/trivy-db/blobs/uploads', 405, 'UNSUPPORTED'],
      ['PUT', '/v2/trivy-db/manifests/2', 405, 'UNSUPPORTED'],
      ['PATCH', '/v2/trivy-db/blobs/uploads/x', 405, 'UNSUPPORTED'],
      ['DELETE', `/v2/trivy-db/manifests/${'sha256:'}${'0'.repeat(64)}`, 405, 'UNSUPPORTED'],
    ];
    for (const [method, path, status, code] of cases) {
      const r = await fetch(`${base}${path}`, { method, body: method === 'PUT' ? '{}' : undefined });
      assert.equal(r.status, status, `${method} ${path}`);
      const body = (await r.json()) as { errors: { code: string; message: string }[] };
      assert.equal(body.errors[0].code, code, `${method} ${path}`);
      assert.ok(body.errors[0].message.length > 0);
    }
    const head = await fetch(`${base}/v2/trivy-db/manifests/9`, { method: 'HEAD' });
    assert.equal(head.status, 404);
  });

  test('what it should hold but does not yet: 503 UNAVAILABLE with Retry-After, so Trivy tries its next repository', async () => {
    const cases: [string, number, string][] = [
      ['/v2/trivy-db/manifests/3', 503, 'UNAVAILABLE'],
      ['/v2/mirror/trivy-db/manifests/3', 503, 'UNAVAILABLE'],
      ['/v2/aquasecurity/trivy-db/manifests/3', 503, 'UNAVAILABLE'],
      ['/v2/trivy-checks/manifests/2', 503, 'UNAVAILABLE'],
      ['/v2/aquasecurity/trivy-checks/manifests/2', 503, 'UNAVAILABLE'],
      ['/v2/trivy-checks/tags/list', 503, 'UNAVAILABLE'],
      // a tag, digest or name the server is not meant to hold stays a 404
      ['/v2/trivy-db/manifests/9', 404, 'MANIFEST_UNKNOWN'],
      [`/v2/trivy-db/manifests/sha256:${'0'.repeat(64)}`, 404, 'MANIFEST_UNKNOWN'],
      ['/v2/trivy-checks/manifests/1', 503, 'UNAVAILABLE'],
      ['/v2/other/manifests/2', 404, 'NAME_UNKNOWN'],
    ];
    for (const [path, status, code] of cases) {
      for (const method of ['GET', 'HEAD']) {
        const r = await fetch(`${base}${path}`, { method });
        assert.equal(r.status, status, `${method} ${path}`);
        assert.equal(r.headers.get('retry-after'), status === 503 ? '30' : null, `${method} ${path}`);
        if (method === 'GET') {
          const body = (await r.json()) as { errors: { code: string }[] };
          assert.equal(body.errors[0]?.code, code, path);
        } else await r.arrayBuffer();
      }
    }
    // held: served under the plain name and each prefix
    for (const name of ['trivy-db', 'mirror/trivy-db', 'aquasecurity/trivy-db']) {
      const r = await fetch(`${base}/v2/${name}/manifests/2`, { method: 'HEAD' });
      assert.equal(r.status, 200, name);
    }
  });

  type Listing = { name?: string; tags?: string[]; repositories?: string[]; errors?: { code: string }[] };
  const json = async (r: Response) => (await r.json()) as Listing;

  test('tags/list and _catalog with n/last pagination', async () => {
    const all = await json(await fetch(`${base}/v2/aquasec/trivy-java-db/tags/list`));
    assert.deepEqual(all, { name: 'aquasec/trivy-java-db', tags: ['1', 'a', 'b', 'c', 'd'] });
    const p1 = await fetch(`${base}/v2/aquasec/trivy-java-db/tags/list?n=2`);
    assert.deepEqual((await json(p1)).tags, ['1', 'a']);
    assert.equal(p1.headers.get('link'), '</v2/aquasec/trivy-java-db/tags/list?n=2&last=a>; rel="next"');
    const p2 = await fetch(`${base}/v2/aquasec/trivy-java-db/tags/list?n=2&last=a`);
    assert.deepEqual((await json(p2)).tags, ['b', 'c']);
    const p3 = await fetch(`${base}/v2/aquasec/trivy-java-db/tags/list?n=2&last=c`);
    assert.deepEqual((await json(p3)).tags, ['d']);
    assert.equal(p3.headers.get('link'), null);

    const cat = await json(await fetch(`${base}/v2/_catalog`));
    assert.deepEqual(cat.repositories, [
      'aquasec/trivy-java-db',
      'aquasecurity/aquasec/trivy-java-db',
      'aquasecurity/trivy-db',
      'mirror/aquasec/trivy-java-db',
      'mirror/trivy-db',
      'trivy-db',
    ]);
    const c1 = await fetch(`${base}/v2/_catalog?n=1&last=mirror/trivy-db`);
    assert.deepEqual((await json(c1)).repositories, ['trivy-db']);
  });

  test('skopeo copies by tag into an OCI layout byte-identically', async () => {
    const out = join(root, 'skopeo-out');
    await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/trivy-db:2`, `oci:${out}:2`], {
      timeout: 60_000,
    });
    const copied = await OciLayout.open(out);
    const m = await copied.manifestGet('2');
    assert.equal(m?.descriptor.digest, v1.digest);
    assert.deepEqual(m?.bytes, v1.manifest);
    assert.equal(sha256(await readFile(copied.blobPath(v1.layerDigest))), v1.layerDigest);
    const { stdout } = await run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${host}/mirror/aquasec/trivy-java-db:1`,
    ]);
    assert.equal(JSON.parse(stdout).layers[0].annotations['org.opencontainers.image.title'], 'db.tar.gz');
  });

  test('a tag swap keeps the old version readable by digest within the GC grace', async () => {
    const old = v1;
    const v2 = await writeVersion(db, '2', 2048);
    const byTag = await fetch(`${base}/v2/trivy-db/manifests/2`);
    assert.equal(byTag.headers.get('docker-content-digest'), v2.digest);
    assert.deepEqual(Buffer.from(await byTag.arrayBuffer()), v2.manifest);

    // a client that resolved the old digest before the swap finishes its download
    await db.gc({ graceMs: 60_000 });
    const oldManifest = await fetch(`${base}/v2/trivy-db/manifests/${old.digest}`);
    assert.equal(oldManifest.status, 200);
    await oldManifest.arrayBuffer();
    const oldBlob = await fetch(`${base}/v2/trivy-db/blobs/${old.layerDigest}`);
    assert.equal(oldBlob.status, 200);
    await oldBlob.arrayBuffer();

    // a download already streaming survives the file's removal (the handler holds the descriptor)
    const streaming = await fetch(`${base}/v2/trivy-db/blobs/${old.layerDigest}`);
    assert.equal(streaming.status, 200);
    await unlink(db.blobPath(old.layerDigest));
    assert.equal(sha256(Buffer.from(await streaming.arrayBuffer())), old.layerDigest);
    await assert.rejects(stat(db.blobPath(old.layerDigest)));
    const gone = await fetch(`${base}/v2/trivy-db/blobs/${old.layerDigest}`);
    assert.equal(gone.status, 404);
    assert.equal((await json(gone)).errors?.[0].code, 'BLOB_UNKNOWN');

    // once the grace is over, gc removes the old manifest too
    await db.gc({ graceMs: 0 });
    const goneManifest = await fetch(`${base}/v2/trivy-db/manifests/${old.digest}`);
    assert.equal(goneManifest.status, 404);
    await goneManifest.arrayBuffer();
  });
});

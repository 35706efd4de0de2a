// Failure handling against a real registry behind the fault-injecting proxy: corrupted and dropped
// bodies, 429 with Retry-After, refused monolithic uploads, aborts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type FaultProxy,
  freePort,
  type RunningRegistry,
  startFaultProxy,
  startRegistry,
} from '@trivy-mirror/fixtures';
import {
  artifactCopy,
  isFallbackError,
  isOciError,
  OciErrorCode,
  parseReference,
  RegistryClient,
} from '@trivy-mirror/oci';
import {
  buildArtifact,
  headStatus,
  MANIFEST_ACCEPT_HEADER,
  skopeoPush,
  type TestArtifact,
  writeToLayout,
} from './test-artifacts.js';

const LAYER_BYTES = 6 * 1024 * 1024;

describe('faults', () => {
  let upstream: RunningRegistry;
  let target: RunningRegistry;
  let proxy: FaultProxy;
  let dir: string;
  let a: TestArtifact;
  let small: TestArtifact;
  const clients: RegistryClient[] = [];
  const newClient = (opts: ConstructorParameters<typeof RegistryClient>[0] = {}) => {
    const c = new RegistryClient({ retry: { baseDelayMs: 20, maxDelayMs: 200 }, ...opts });
    clients.push(c);
    return c;
  };
  const isLayerGet = (method?: string, url?: string) =>
    method === 'GET' && (url ?? '').includes(`/blobs/${a.layer.digest}`);

  before(async () => {
    [upstream, target] = await Promise.all([startRegistry(), startRegistry()]);
    proxy = await startFaultProxy({ upstream: upstream.url, seed: 'faults' });
    dir = await mkdtemp(join(tmpdir(), 'oci-faults-test-'));
    a = await buildArtifact({ dir, shape: 'oci-1.1', layerBytes: LAYER_BYTES, seed: 'faults' });
    await writeToLayout(join(dir, 'seed'), '2', a);
    await skopeoPush(join(dir, 'seed'), '2', `${upstream.host}/aquasec/trivy-db:2`);
    small = await buildArtifact({ dir, shape: 'oci-1.1', layerBytes: 66 * 1024, seed: 'faults-small' });
    await writeToLayout(join(dir, 'seed-small'), '2', small);
    await skopeoPush(join(dir, 'seed-small'), '2', `${upstream.host}/aquasec/small-db:2`);
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await proxy?.stop();
    await Promise.all([upstream?.stop(), target?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const src = () => parseReference(`${proxy.host}/aquasec/trivy-db:2`);

  test('a blob altered in flight is rejected and nothing is published', async () => {
    proxy.setFault((req) =>
      isLayerGet(req.method, req.url) ? { kind: 'flip-byte', offset: 3_000_000 } : undefined,
    );
    const client = newClient();
    const dst = parseReference(`${target.host}/flipped/trivy-db:2`);
    await assert.rejects(
      artifactCopy({ src: client, srcRef: src(), dst: client, dstRef: dst }),
      (err: unknown) => isOciError(err, OciErrorCode.DIGEST_MISMATCH),
    );
    proxy.setFault(undefined);
    assert.equal(await client.manifestHead(dst), undefined);
    assert.equal(await client.blobHead(dst, a.layer.digest), undefined);
    assert.equal(
      await headStatus(`${target.url}/v2/flipped/trivy-db/manifests/2`, MANIFEST_ACCEPT_HEADER),
      404,
    );
    assert.equal(await headStatus(`${target.url}/v2/flipped/trivy-db/blobs/${a.layer.digest}`), 404);
  });

  test('a connection dropped mid-blob resumes with Range', async () => {
    const ranges: (string | undefined)[] = [];
    let gets = 0;
    proxy.setFault((req) => {
      if (!isLayerGet(req.method, req.url)) return undefined;
      ranges.push(req.headers.range);
      return ++gets === 1 ? { kind: 'reset-after', bytes: 2_500_000 } : undefined;
    });
    const client = newClient();
    const res = await artifactCopy({
      src: client,
      srcRef: src(),
      dst: client,
      dstRef: parseReference(`${target.host}/resumed/trivy-db:2`),
    });
    proxy.setFault(undefined);
    assert.equal(res.digest, a.manifestDigest);
    assert.equal(ranges.length, 2);
    assert.equal(ranges[0], undefined);
    assert.match(ranges[1] ?? '', /^bytes=\d+-$/);
  });

  test('a server that answers 200 to a Range request: the prefix is skipped', async () => {
    let gets = 0;
    proxy.setFault((req) => {
      if (!isLayerGet(req.method, req.url)) return undefined;
      gets++;
      if (gets === 1) return { kind: 'truncate', bytes: 1_000_000 };
      delete req.headers.range; // upstream now sends the whole blob with 200
      return undefined;
    });
    const client = newClient();
    const stream = await client.blobGet(src(), a.layer);
    let n = 0;
    for await (const chunk of stream) n += (chunk as Buffer).length;
    proxy.setFault(undefined);
    assert.equal(n, LAYER_BYTES);
    assert.equal(gets, 2);
  });

  test('a server that closes right after the last body byte, while the consumer is slow', async () => {
    // Every answer ends with a FIN (an HTTP/1.0 server, a proxy with keepalive 0). The body waits
    // under backpressure before it is read: undici 7 threw an uncatchable assertion here.
    // A body just past the stream's high-water mark arrives whole with its FIN while paused.
    proxy.setFault(() => ({ kind: 'close-after-response' }));
    const client = newClient();
    for (const [ref, layer] of [
      [parseReference(`${proxy.host}/aquasec/small-db:2`), small.layer],
      [src(), a.layer],
    ] as const) {
      const stream = await client.blobGet(ref, layer);
      await new Promise((r) => setTimeout(r, 300));
      const hash = createHash('sha256');
      for await (const chunk of stream) {
        hash.update(chunk as Buffer);
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(`sha256:${hash.digest('hex')}`, layer.digest);
    }
    const dst = parseReference(`${target.host}/closing/trivy-db:2`);
    const res = await artifactCopy({ src: client, srcRef: src(), dst: client, dstRef: dst });
    assert.equal(res.digest, a.manifestDigest);
    assert.ok(proxy.log.filter((e) => e.fault === 'close-after-response').length >= 5);
    proxy.setFault(undefined);
    assert.equal((await client.manifestHead(dst))?.digest, a.manifestDigest);
  });

  test('429 with Retry-After: 1 is waited out', async () => {
    let n = 0;
    proxy.setFault((req) =>
      req.method === 'GET' && req.url?.includes('/manifests/') && ++n === 1
        ? {
            kind: 'status',
            status: 429,
            headers: { 'retry-after': '1', 'content-type': 'application/json' },
            body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
          }
        : undefined,
    );
    const client = newClient();
    const started = Date.now();
    const got = await client.manifestGet(src());
    proxy.setFault(undefined);
    assert.ok(Date.now() - started >= 950, `waited ${Date.now() - started} ms`);
    assert.equal(got.descriptor.digest, a.manifestDigest);
  });

  test('429 after the last attempt throws TOOMANYREQUESTS (a fallback error)', async () => {
    proxy.setFault(() => ({
      kind: 'status',
      status: 429,
      headers: { 'retry-after': '0', 'content-type': 'application/json' },
      body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"rate limited"}]}',
    }));
    const client = newClient({ retry: { attempts: 2, baseDelayMs: 10 } });
    const before = proxy.log.length;
    const err = await client.manifestGet(src()).catch((e: unknown) => e);
    assert.ok(isOciError(err, OciErrorCode.TOO_MANY_REQUESTS), String(err));
    assert.equal(err.status, 429);
    assert.deepEqual(err.registryCodes, ['TOOMANYREQUESTS']);
    assert.equal(err.target, proxy.host);
    assert.ok(isFallbackError(err));
    assert.equal(proxy.log.length - before, 2);

    // a Retry-After beyond maxRetryAfterMs is not waited out
    proxy.setFault(() => ({ kind: 'status', status: 429, headers: { 'retry-after': '3600' } }));
    const started = Date.now();
    const long = await newClient({ retry: { maxRetryAfterMs: 5000 } })
      .manifestGet(src())
      .catch((e: unknown) => e);
    proxy.setFault(undefined);
    assert.ok(isOciError(long, OciErrorCode.TOO_MANY_REQUESTS));
    assert.equal(long.retryAfterMs, 3_600_000);
    assert.ok(Date.now() - started < 2000);
  });

  test('5xx is retried; BLOB_UNKNOWN is mapped and not retried', async () => {
    let n = 0;
    proxy.setFault((req) =>
      req.method === 'HEAD' && ++n <= 2 ? { kind: 'status', status: 503 } : undefined,
    );
    const client = newClient();
    assert.ok(await client.manifestHead(src()));
    assert.equal(n, 3);
    proxy.setFault(undefined);
    const missing = { mediaType: 'x', digest: `sha256:${'0'.repeat(64)}`, size: 1 };
    const err = await client.blobGet(src(), missing).catch((e: unknown) => e);
    assert.ok(isOciError(err, OciErrorCode.BLOB_UNKNOWN), String(err));
    assert.ok(isFallbackError(err));
  });

  test('a refused monolithic PUT falls back to chunked PATCH', async () => {
    const up = await startFaultProxy({ upstream: target.url });
    try {
      up.setFault((req) =>
        req.method === 'PUT' && req.url?.includes('digest=') && req.headers['content-length'] !== '0'
          ? {
              kind: 'status',
              status: 416,
              headers: { 'content-type': 'application/json' },
              body: '{"errors":[]}',
            }
          : undefined,
      );
      const client = newClient({ chunkBytes: 1024 * 1024 });
      const res = await artifactCopy({
        src: client,
        srcRef: parseReference(`${upstream.host}/aquasec/trivy-db:2`),
        dst: client,
        dstRef: parseReference(`${up.host}/chunked/trivy-db:2`),
      });
      assert.equal(res.digest, a.manifestDigest);
      const patches = up.log.filter((e) => e.method === 'PATCH').length;
      assert.ok(patches >= 6, `${patches} PATCH requests`);

      // configured chunked uploads never try the monolithic PUT
      up.setFault(undefined);
      up.log.length = 0;
      const chunked = newClient({
        hosts: [{ host: up.host, chunkedUpload: true }],
        chunkBytes: 2 * 1024 * 1024,
      });
      await artifactCopy({
        src: chunked,
        srcRef: parseReference(`${upstream.host}/aquasec/trivy-db:2`),
        dst: chunked,
        dstRef: parseReference(`${up.host}/chunked-configured/trivy-db:2`),
      });
      assert.ok(up.log.filter((e) => e.method === 'PATCH').length >= 3);
      assert.ok(!up.log.some((e) => e.method === 'PUT' && e.path.includes('digest=') && e.status === 416));
    } finally {
      await up.stop();
    }
  });

  test('a stalled answer times out and is retried; refused connections end as NETWORK', async () => {
    let n = 0;
    proxy.setFault((req) => (req.url?.includes('/manifests/') && ++n === 1 ? { kind: 'stall' } : undefined));
    const client = newClient({ timeouts: { headersMs: 300 } });
    const got = await client.manifestGet(src());
    proxy.setFault(undefined);
    assert.equal(got.descriptor.digest, a.manifestDigest);
    assert.equal(n, 2);

    const closed = `127.0.0.1:${await freePort()}`;
    const err = await newClient({ retry: { attempts: 2, baseDelayMs: 10 } })
      .ping(closed)
      .catch((e: unknown) => e);
    assert.ok(isOciError(err, OciErrorCode.NETWORK), String(err));
    assert.equal(err.target, closed);
    assert.ok(isFallbackError(err));
  });

  test('requests honour AbortSignal (ABORTED)', async () => {
    proxy.setFault((req) => (req.url?.includes('/manifests/') ? { kind: 'stall' } : undefined));
    const client = newClient();
    const err = await client
      .manifestGet(src(), { signal: AbortSignal.timeout(300) })
      .catch((e: unknown) => e);
    proxy.setFault(undefined);
    assert.ok(isOciError(err, OciErrorCode.ABORTED), String(err));
  });
});

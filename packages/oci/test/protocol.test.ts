// Pure-logic units: WWW-Authenticate, Retry-After, backoff, Link pagination, upload URLs, verify stream.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import {
  createVerifyStream,
  isFallbackError,
  isOciError,
  OciError,
  OciErrorCode,
  sha256Digest,
} from '@trivy-mirror/oci';
import { appendDigest } from '../src/registry/blob-upload.js';
import { backoffDelay, HostBackoff, parseRetryAfter } from '../src/retry.js';
import { Mutex } from '../src/mutex.js';
import { nextLink } from '../src/registry/registry-client.js';
import { parseWwwAuthenticate } from '../src/registry/www-authenticate.js';

describe('parseWwwAuthenticate', () => {
  test('Bearer with realm, service and scope', () => {
    assert.deepEqual(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push"',
      ),
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:library/alpine:pull,push',
          },
        },
      ],
    );
  });
  test('Basic, several challenges, escapes and unquoted values', () => {
    const got = parseWwwAuthenticate(
      'Basic realm="a \\"b\\"", Bearer realm=https://x/token, error=invalid_token',
    );
    assert.deepEqual(got, [
      { scheme: 'basic', params: { realm: 'a "b"' } },
      { scheme: 'bearer', params: { realm: 'https://x/token', error: 'invalid_token' } },
    ]);
    assert.deepEqual(parseWwwAuthenticate(['Basic realm="r"', 'Negotiate']), [
      { scheme: 'basic', params: { realm: 'r' } },
      { scheme: 'negotiate', params: {} },
    ]);
    assert.deepEqual(parseWwwAuthenticate(undefined), []);
  });
});

describe('Retry-After and backoff', () => {
  test('seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('1'), 1000);
    assert.equal(parseRetryAfter(' 120 '), 120_000);
    const now = Date.parse('Wed, 25 Nov 2026 20:00:00 GMT');
    assert.equal(parseRetryAfter('Wed, 25 Nov 2026 20:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Wed, 25 Nov 2026 19:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });
  test('full jitter grows exponentially and is capped', () => {
    const opts = { baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(
      backoffDelay(0, opts, () => 0.999),
      99,
    );
    assert.equal(
      backoffDelay(2, opts, () => 0.5),
      200,
    );
    assert.equal(
      backoffDelay(10, opts, () => 0.999),
      999,
    );
    assert.equal(
      backoffDelay(3, opts, () => 0),
      0,
    );
  });
  test('host backoff is shared and expires', () => {
    const b = new HostBackoff();
    b.defer('h', 500, 1000);
    b.defer('h', 100, 1000); // a shorter wait does not shorten the longer one
    assert.equal(b.remaining('h', 1200), 300);
    assert.equal(b.remaining('other', 1200), 0);
    assert.equal(b.remaining('h', 1600), 0);
  });
});

describe('small helpers', () => {
  test('nextLink', () => {
    assert.equal(nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"'), '/v2/a/tags/list?n=2&last=b');
    assert.equal(
      nextLink('<https://x/v2/a/tags/list?last=c>; rel=next, <https://x/y>; rel="prev"'),
      'https://x/v2/a/tags/list?last=c',
    );
    assert.equal(nextLink('<https://x/y>; rel="prev"'), undefined);
    assert.equal(nextLink(undefined), undefined);
  });
  test('appendDigest keeps an existing query', () => {
    const d = `sha256:${'b'.repeat(64)}`;
    assert.equal(
      appendDigest(new URL('http://h/v2/a/blobs/uploads/u1?_state=x%3D'), d).href,
      `http://h/v2/a/blobs/uploads/u1?_state=x%3D&digest=sha256%3A${'b'.repeat(64)}`,
    );
    assert.equal(appendDigest(new URL('http://h/u'), d).search, `?digest=sha256%3A${'b'.repeat(64)}`);
  });
  test('fallback errors', () => {
    assert.equal(isFallbackError(new OciError(OciErrorCode.TOO_MANY_REQUESTS, 'x')), true);
    assert.equal(isFallbackError(new OciError(OciErrorCode.UNAUTHORIZED, 'x')), false);
  });
  test('mutex serialises', async () => {
    const m = new Mutex();
    const order: number[] = [];
    await Promise.all(
      [3, 1, 2].map((ms, i) =>
        m.runExclusive(async () => {
          order.push(i);
          await new Promise((r) => setTimeout(r, ms * 5));
          order.push(i);
        }),
      ),
    );
    assert.deepEqual(order, [0, 0, 1, 1, 2, 2]);
  });
});

describe('createVerifyStream', () => {
  const data = Buffer.from('hello world, this is a blob');
  const desc = { mediaType: 'x', digest: sha256Digest(data), size: data.length };
  const collect = async (chunks: Buffer[], d = desc) => {
    const out: Buffer[] = [];
    await pipeline(Readable.from(chunks), createVerifyStream(d), async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) out.push(c as Buffer);
    });
    return Buffer.concat(out);
  };
  test('passes correct bytes through', async () => {
    assert.deepEqual(await collect([data.subarray(0, 5), data.subarray(5)]), data);
  });
  test('DIGEST_MISMATCH without releasing the last chunk', async () => {
    const bad = Buffer.from(data);
    bad[3] ^= 1;
    const seen: Buffer[] = [];
    await assert.rejects(
      pipeline(
        Readable.from([bad.subarray(0, 10), bad.subarray(10)]),
        createVerifyStream(desc),
        async (src: AsyncIterable<Buffer>) => {
          for await (const c of src) seen.push(c as Buffer);
        },
      ),
      (err: unknown) => isOciError(err, OciErrorCode.DIGEST_MISMATCH),
    );
    assert.ok(Buffer.concat(seen).length < data.length, 'consumer never saw the whole blob');
  });
  test('SIZE_MISMATCH short and long', async () => {
    await assert.rejects(collect([data.subarray(0, 4)]), (e: unknown) =>
      isOciError(e, OciErrorCode.SIZE_MISMATCH),
    );
    await assert.rejects(collect([data, Buffer.from('x')]), (e: unknown) =>
      isOciError(e, OciErrorCode.SIZE_MISMATCH),
    );
  });
});

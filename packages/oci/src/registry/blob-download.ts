// Streamed blob download: follows redirects, resumes with `Range: bytes=N-` after a dropped
// connection (skipping N bytes when the server ignores Range), and verifies size and digest.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { repositoryScope } from './auth.js';
import { assertDigest } from '../digest.js';
import { OciError, OciErrorCode } from '../errors.js';
import { noteStreamedBytes } from '../gc.js';
import type { OciLogger } from '../logger.js';
import type { RegistryRef } from './manifest.js';
import type { RegistryHttp } from './registry-http.js';
import { backoffDelay, isRetryable, type ResolvedRetryOptions, sleep, toOciError } from '../retry.js';
import type { BlobGetOptions, Descriptor } from '../types.js';

export async function blobDownload(
  http: RegistryHttp,
  ref: RegistryRef,
  descriptor: Descriptor,
  retry: ResolvedRetryOptions,
  log: OciLogger,
  options: BlobGetOptions = {},
): Promise<Readable> {
  const { signal, onProgress } = options;
  const what = `blob ${ref.registry}/${ref.repository}@${descriptor.digest}`;

  const get = (offset: number) =>
    http.send({
      host: ref.registry,
      method: 'GET',
      path: `/v2/${ref.repository}/blobs/${descriptor.digest}`,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      scopes: [repositoryScope(ref.repository)],
      expect: offset > 0 ? [200, 206] : [200],
      what,
      notFound: OciErrorCode.BLOB_UNKNOWN,
      signal,
    });
  // the first request is made now, so BLOB_UNKNOWN or 429 reach the caller before any streaming
  const first = await get(0);

  // One stream does receive, resume, hash and hold-back in a single pass over the undici body's
  // 'data' events: an async generator, Readable.from and a Transform cost a promise and two stream
  // hops per chunk, which showed up as CPU and GC time on 1 GB copies.
  assertDigest(descriptor.digest, 'expected digest');
  const hash = createHash('sha256');
  let offset = 0;
  let failures = 0;
  let failedAt = -1;
  let skip = 0;
  // The last chunk is held back until size and digest check out, so a consumer (a file, an upload)
  // never receives the complete blob when it is wrong.
  let held: Buffer | undefined;
  let body: Readable | undefined;

  const out = new Readable({
    highWaterMark: 1024 * 1024,
    read() {
      if (body?.isPaused()) body.resume();
    },
    destroy(err, cb) {
      detach(true);
      cb(err);
    },
  });

  const onData = (raw: Buffer) => {
    let chunk = raw;
    // a server that ignores Range sends everything again: skip what we already have
    if (skip > 0) {
      if (chunk.length <= skip) {
        skip -= chunk.length;
        return;
      }
      chunk = chunk.subarray(skip);
      skip = 0;
    }
    offset += chunk.length;
    if (offset > descriptor.size) {
      out.destroy(sizeError(descriptor, offset, true));
      return;
    }
    hash.update(chunk);
    noteStreamedBytes(chunk.length);
    onProgress?.({ bytes: offset, total: descriptor.size, digest: descriptor.digest });
    const ready = held;
    held = chunk;
    if (ready && !out.push(ready)) body?.pause();
  };
  const onEnd = () => {
    detach(false);
    if (offset < descriptor.size) {
      // the connection ended cleanly but short: treat like a drop and resume
      void recover(
        new OciError(OciErrorCode.NETWORK, `${what}: body ended at ${offset} of ${descriptor.size} bytes`, {
          target: ref.registry,
        }),
      );
      return;
    }
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== descriptor.digest) {
      out.destroy(
        new OciError(
          OciErrorCode.DIGEST_MISMATCH,
          `digest mismatch: content of ${descriptor.digest} hashed to ${actual} (${offset} bytes)`,
          { target: descriptor.digest },
        ),
      );
      return;
    }
    if (held) out.push(held);
    held = undefined;
    out.push(null);
  };
  const onError = (e: unknown) => {
    detach(true);
    void recover(e);
  };
  function attach(res: Awaited<ReturnType<typeof get>>) {
    body = res.body as unknown as Readable;
    skip = offset > 0 && res.statusCode === 200 ? offset : 0;
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
  }
  function detach(destroy: boolean) {
    const b = body;
    body = undefined;
    if (!b) return;
    b.off('data', onData);
    b.off('end', onEnd);
    b.off('error', onError);
    // keep a no-op listener: a late error from a body we let go must not crash the process
    b.on('error', () => {});
    if (destroy && !b.destroyed) b.destroy();
  }

  /** Retries after a dropped or short body, resuming at `offset`; gives up into `out`. */
  async function recover(e: unknown): Promise<void> {
    for (;;) {
      if (out.destroyed) return;
      let err = toOciError(e, ref.registry, signal);
      if (offset > 0 && err.status === 416) {
        // nothing left past `offset`: the blob is shorter than the manifest declares
        err = new OciError(
          OciErrorCode.SIZE_MISMATCH,
          `${what}: the registry holds ${offset} bytes, the manifest declares ${descriptor.size}`,
          { target: ref.registry, cause: err },
        );
      }
      // progress since the last failure earns a fresh set of attempts
      failures = offset > failedAt ? 1 : failures + 1;
      failedAt = offset;
      if (!isRetryable(err) || failures >= retry.attempts || offset >= descriptor.size) {
        out.destroy(err);
        return;
      }
      const delay = backoffDelay(failures - 1, retry);
      log.warn(
        { host: ref.registry, digest: descriptor.digest, offset, code: err.code, delayMs: delay },
        'blob download interrupted; resuming',
      );
      try {
        await sleep(delay, signal);
        const res = await get(offset);
        if (out.destroyed) {
          (res.body as unknown as Readable).destroy();
          return;
        }
        attach(res);
        return;
      } catch (next) {
        e = next;
      }
    }
  }

  attach(first);
  // nothing flows until the consumer reads
  body?.pause();
  return out;
}

function sizeError(expected: Descriptor, seen: number, early: boolean): OciError {
  return new OciError(
    OciErrorCode.SIZE_MISMATCH,
    `blob ${expected.digest}: expected ${expected.size} bytes, got ${early ? 'more than ' : ''}${early ? expected.size : seen}`,
    { target: expected.digest },
  );
}

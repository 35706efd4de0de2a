// Streamed blob download: follows redirects, resumes with `Range: bytes=N-` after a dropped
// connection (skipping N bytes when the server ignores Range), and verifies size and digest.
import { Readable, pipeline } from 'node:stream';
import { repositoryScope } from './auth.js';
import { createVerifyStream } from './digest.js';
import { OciError, OciErrorCode } from './errors.js';
import type { OciLogger } from './logger.js';
import type { RegistryRef } from './manifest.js';
import type { RegistryHttp } from './registry-http.js';
import { backoffDelay, isRetryable, type ResolvedRetryOptions, sleep, toOciError } from './retry.js';
import type { BlobGetOptions, Descriptor } from './types.js';

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
  let first: Awaited<ReturnType<typeof get>> | undefined = await get(0);

  async function* chunks(): AsyncGenerator<Buffer> {
    let offset = 0;
    let failures = 0;
    let failedAt = -1;
    while (true) {
      try {
        const res = first ?? (await get(offset));
        first = undefined;
        // a server that ignores Range sends everything again: skip what we already have
        let skip = offset > 0 && res.statusCode === 200 ? offset : 0;
        try {
          for await (const raw of res.body) {
            let chunk = raw as Buffer;
            if (skip > 0) {
              if (chunk.length <= skip) {
                skip -= chunk.length;
                continue;
              }
              chunk = chunk.subarray(skip);
              skip = 0;
            }
            offset += chunk.length;
            onProgress?.({ bytes: offset, total: descriptor.size, digest: descriptor.digest });
            yield chunk;
          }
        } finally {
          if (!res.body.destroyed) res.body.destroy();
        }
        if (offset < descriptor.size) {
          // the connection ended cleanly but short: treat like a drop and resume
          throw new OciError(
            OciErrorCode.NETWORK,
            `${what}: body ended at ${offset} of ${descriptor.size} bytes`,
            {
              target: ref.registry,
            },
          );
        }
        return;
      } catch (e) {
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
        if (!isRetryable(err) || failures >= retry.attempts || offset >= descriptor.size) throw err;
        const delay = backoffDelay(failures - 1, retry);

        log.warn(
          { host: ref.registry, digest: descriptor.digest, offset, code: err.code, delayMs: delay },
          'blob download interrupted; resuming',
        );
        await sleep(delay, signal);
      }
    }
  }

  const verify = createVerifyStream(descriptor);
  // a stream dropped before its first read still holds the first response: release the connection
  verify.once('close', () => {
    if (first && !first.body.destroyed) first.body.destroy();
    first = undefined;
  });
  return pipeline(Readable.from(chunks(), { objectMode: false }), verify, () => {
    // errors surface on `verify`, which pipeline destroys with them
  });
}

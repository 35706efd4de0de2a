// Blob uploads: POST a session (or a cross-repository mount), then a monolithic PUT with `&digest=`
// streamed with Content-Length; chunked PATCH when configured or when the monolithic PUT is refused.
import type { Readable } from 'node:stream';
import { repositoryScope } from './auth.js';
import { OciError, OciErrorCode } from '../errors.js';
import { dumpBody, header } from '../connection/http-transport.js';
import type { OciLogger } from '../logger.js';
import type { RegistryRef } from './manifest.js';
import type { RegistryHttp } from './registry-http.js';
import { backoffDelay, isRetryable, type ResolvedRetryOptions, sleep, toOciError } from '../retry.js';
import type { BlobPutOptions, Descriptor } from '../types.js';

export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

export interface UploadOptions extends BlobPutOptions {
  /** Always upload in PATCH chunks (some registries refuse large monolithic PUTs). */
  chunked?: boolean;
  chunkBytes?: number;
}

export interface UploadResult {
  /** True when a cross-repository mount made the upload unnecessary. */
  mounted: boolean;
}

/** Appends `digest=` to an upload Location that may be relative and may already carry a query. */
export function appendDigest(location: URL, digest: string): URL {
  const u = new URL(location);
  const param = `digest=${encodeURIComponent(digest)}`;
  u.search = u.search && u.search !== '?' ? `${u.search}&${param}` : `?${param}`;
  return u;
}

export async function blobUpload(
  http: RegistryHttp,
  ref: RegistryRef,
  descriptor: Descriptor,
  open: () => Readable | Promise<Readable>,
  retry: ResolvedRetryOptions,
  log: OciLogger,
  options: UploadOptions = {},
): Promise<UploadResult> {
  const scopes = [repositoryScope(ref.repository, true)];
  if (options.mountFrom && options.mountFrom !== ref.repository)
    scopes.push(repositoryScope(options.mountFrom));
  const what = `blob upload ${ref.registry}/${ref.repository}@${descriptor.digest}`;
  const opened: Readable[] = [];
  const source = async () => {
    const s = await open();
    opened.push(s);
    return s;
  };

  const startSession = async (mount: boolean): Promise<URL | 'mounted'> => {
    let path = `/v2/${ref.repository}/blobs/uploads/`;
    if (mount && options.mountFrom) {
      path += `?mount=${encodeURIComponent(descriptor.digest)}&from=${encodeURIComponent(options.mountFrom)}`;
    }
    const res = await http.send({
      host: ref.registry,
      method: 'POST',
      path,
      headers: { 'content-length': '0' },
      scopes,
      expect: [201, 202],
      what,
      notFound: OciErrorCode.NAME_UNKNOWN,
      signal: options.signal,
    });
    await dumpBody(res.body);
    const location = header(res.headers, 'location');
    if (res.statusCode === 201) return 'mounted';
    if (!location)
      throw new OciError(OciErrorCode.HTTP_UNEXPECTED, `${what}: no Location in 202`, {
        target: ref.registry,
      });
    return http.url(ref.registry, location);
  };

  // The closing PUT ?digest= of an upload: the whole blob (monolithic) or nothing (after the PATCHes).
  const putDigest = async (location: URL, length: number, body?: typeof source): Promise<void> => {
    const res = await http.send({
      host: ref.registry,
      method: 'PUT',
      path: appendDigest(location, descriptor.digest).href,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
      body,
      scopes,
      expect: [201, 204],
      what,
      signal: options.signal,
      retry: false,
    });
    await finish(res.headers, res.body);
  };

  const monolithic = (location: URL): Promise<void> => putDigest(location, descriptor.size, source);

  const chunkedUpload = async (location: URL): Promise<void> => {
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    const stream = await source();
    let offset = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const body = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      const res = await http.send({
        host: ref.registry,
        method: 'PATCH',
        path: location.href,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(body.length),
          'content-range': `${offset}-${offset + body.length - 1}`,
        },
        body: () => body,
        scopes,
        expect: [202],
        what,
        signal: options.signal,
        retry: false,
      });
      await dumpBody(res.body);
      offset += body.length;
      const next = header(res.headers, 'location');
      if (next) location = new URL(next, location);
    };
    for await (const chunk of stream) {
      pending.push(chunk as Buffer);
      pendingBytes += (chunk as Buffer).length;
      if (pendingBytes >= chunkBytes) await flush();
    }
    await flush();
    await putDigest(location, 0);
  };

  const finish = async (headers: Record<string, string | string[] | undefined>, body: { dump: unknown }) => {
    await dumpBody(body as never);
    const stored = header(headers, 'docker-content-digest');
    if (stored && stored !== descriptor.digest) {
      throw new OciError(OciErrorCode.DIGEST_MISMATCH, `${what}: registry stored ${stored}`, {
        target: ref.registry,
      });
    }
  };

  const closeSources = () => {
    for (const s of opened.splice(0)) if (!s.destroyed) s.destroy();
  };

  for (let attempt = 0; ; attempt++) {
    try {
      const session = await startSession(attempt === 0);
      if (session === 'mounted') return { mounted: true };
      if (options.chunked) {
        await chunkedUpload(session);
        return { mounted: false };
      }
      try {
        await monolithic(session);
      } catch (err) {
        if (!refusedMonolithic(err)) throw err;
        closeSources();
        log.info(
          { host: ref.registry, digest: descriptor.digest, status: (err as OciError).status },
          'monolithic upload refused; using chunks',
        );
        const again = await startSession(false);
        if (again === 'mounted') return { mounted: true };
        await chunkedUpload(again);
      }
      return { mounted: false };
    } catch (e) {
      const err = toOciError(e, ref.registry, options.signal);
      closeSources();
      if (!isRetryable(err) || attempt + 1 >= retry.attempts) throw err;
      const delay = err.retryAfterMs ?? backoffDelay(attempt, retry);
      if (delay > retry.maxRetryAfterMs) throw err;
      log.warn(
        { host: ref.registry, digest: descriptor.digest, code: err.code, delayMs: delay },
        'blob upload failed; retrying',
      );
      await sleep(delay, options.signal);
    } finally {
      closeSources();
    }
  }
}

/** 4xx answers to a monolithic PUT that a chunked upload may avoid (not auth, not bad content). */
function refusedMonolithic(err: unknown): boolean {
  if (!(err instanceof OciError) || err.status === undefined) return false;
  if ([401, 403, 404, 429].includes(err.status)) return false;
  if (err.registryCodes.some((c) => c === 'DIGEST_INVALID' || c === 'SIZE_INVALID')) return false;
  return err.status === 416 || (err.status >= 400 && err.status < 500);
}

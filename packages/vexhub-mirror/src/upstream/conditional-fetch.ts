// Conditional GETs through the HttpClient service: ETag/Last-Modified validators, size caps, streaming to disk.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ArchiveInvalidError,
  type HttpClient,
  type HttpResponse,
  MirrorError,
} from '@trivy-mirror/plugin-api';

/** What a source said about a URL last time; sent back as If-None-Match / If-Modified-Since. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

export interface FetchOptions {
  validators?: Validators;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  maxBytes: number;
}

export type Fetched<T> =
  | { notModified: true }
  | ({ notModified: false; validators: Validators; url: string } & T);

function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function conditionalGet(
  http: HttpClient,
  url: string,
  options: FetchOptions,
): Promise<HttpResponse | undefined> {
  const headers: Record<string, string> = { ...options.headers };
  const v = options.validators;
  if (v?.etag) headers['If-None-Match'] = v.etag;
  if (v?.lastModified) headers['If-Modified-Since'] = v.lastModified;
  let res: HttpResponse;
  try {
    res = await http.request(url, { method: 'GET', headers, signal: options.signal });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    throw new MirrorError('VEX_SOURCE_UNREACHABLE', `GET ${url}: ${(err as Error).message}`, { cause: err });
  }
  if (res.status === 304 && (v?.etag || v?.lastModified)) {
    await res.dump();
    return undefined;
  }
  if (res.status !== 200) {
    await res.dump().catch(() => undefined);
    throw new MirrorError('VEX_SOURCE_HTTP', `GET ${url}: HTTP ${res.status}`);
  }
  const length = Number(header(res, 'content-length'));
  if (Number.isFinite(length) && length > options.maxBytes) {
    await res.dump().catch(() => undefined);
    throw new ArchiveInvalidError(
      `GET ${url}: Content-Length ${length} is over the ${options.maxBytes}-byte limit`,
    );
  }
  return res;
}

function validatorsOf(res: HttpResponse): Validators {
  return { etag: header(res, 'etag'), lastModified: header(res, 'last-modified') };
}

/** A small document (the repository manifest), read into memory. */
export async function fetchDocument(
  http: HttpClient,
  url: string,
  options: FetchOptions,
): Promise<Fetched<{ body: Buffer }>> {
  const res = await conditionalGet(http, url, options);
  if (!res) return { notModified: true };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.length;
    if (size > options.maxBytes) {
      throw new MirrorError('VEX_MANIFEST_INVALID', `GET ${url}: larger than ${options.maxBytes} bytes`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return { notModified: false, validators: validatorsOf(res), url: res.url, body: Buffer.concat(chunks) };
}

/** Streams a download into `file` (capped while streaming) and hashes it on the way. */
export async function downloadToFile(
  http: HttpClient,
  url: string,
  file: string,
  options: FetchOptions,
): Promise<Fetched<{ sha256: string; size: number }>> {
  const res = await conditionalGet(http, url, options);
  if (!res) return { notModified: true };
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > options.maxBytes) {
        done(
          new ArchiveInvalidError(
            `GET ${url}: archive is larger than ${options.maxBytes} bytes (maxArchiveBytes)`,
          ),
        );
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(res.body, meter, createWriteStream(file), { signal: options.signal });
  } catch (err) {
    await rm(file, { force: true });
    if (err instanceof MirrorError || options.signal?.aborted) throw err;
    throw new MirrorError(
      'VEX_SOURCE_UNREACHABLE',
      `GET ${url}: download failed: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return {
    notModified: false,
    validators: validatorsOf(res),
    url: res.url,
    sha256: hash.digest('hex'),
    size,
  };
}

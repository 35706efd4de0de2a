// A read-only OCI distribution endpoint (/v2/) over OCI image layouts on disk: the embedded
// registry of oci-sync and the demo's fake upstream. Plain node:http handler, no framework.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { open, type FileHandle } from 'node:fs/promises';
import type { OciLayout } from './layout.js';
import { parseRange } from './http-range.js';

export interface RegistryHandlerOptions {
  /** The layout that holds `repository` (a validated name without the prefix), or undefined. */
  resolveLayout(repository: string): Promise<OciLayout | undefined>;
  /** Repository names for `/v2/_catalog`. */
  repositories(): Promise<string[]>;
  /**
   * Repository-name prefixes (e.g. 'aquasec', 'aquasecurity'): `PREFIX/NAME` is served from NAME's
   * layout, so clients can keep upstream-style names (`aquasec/trivy-db`, and Trivy's registry.mirrors
   * keeps the path of mirror.gcr.io and ghcr.io). Plain NAME stays reachable too.
   */
  pathPrefix?: string | readonly string[];
  /**
   * Whether the server is meant to hold this repository (and, with `tag`, this tag): one it should
   * hold but does not yet answers 503 UNAVAILABLE with Retry-After instead of 404, because Trivy moves
   * to the next repository of its list only on temporary errors and stops on a 404.
   */
  expected?(repository: string, tag?: string): boolean;
  /** Retry-After seconds of those 503 answers (default 60). */
  retryAfterSeconds?: number;
  /** Called with unexpected errors (I/O); the client gets a 500 in the distribution format. */
  onError?: (err: unknown, req: IncomingMessage) => void;
}

export type RegistryHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

// Distribution spec grammar for repository names; also keeps `..` and absolute paths out.
const NAME_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
// sha256 only (what the layouts hold); the digest becomes a file name, so no other shapes.
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const DEFAULT_PAGE = 1000;

type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string };

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extraHeaders: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function createRegistryHandler(options: RegistryHandlerOptions): RegistryHandler {
  const raw = options.pathPrefix === undefined ? [] : [options.pathPrefix].flat();
  const prefixes = raw.map((p) => p.replace(/^\/+|\/+$/g, '')).filter((p) => p !== '');
  for (const prefix of prefixes) {
    if (!NAME_RE.test(prefix)) {
      throw new TypeError(`registry handler: invalid pathPrefix ${JSON.stringify(prefix)}`);
    }
  }
  const retryAfter = String(options.retryAfterSeconds ?? 60);

  /** The store name a request name stands for: without its prefix, if it has one. */
  function localName(name: string): string {
    const prefix = prefixes.find((p) => name.startsWith(`${p}/`));
    return prefix ? name.slice(prefix.length + 1) : name;
  }

  /** 503 UNAVAILABLE for what the server should hold but does not hold yet. */
  function notYet(what: string): HttpFailure {
    return new HttpFailure(
      503,
      'UNAVAILABLE',
      `${what} is not stored yet (the mirror has not synced it); try again later or another registry`,
      { 'Retry-After': retryAfter },
    );
  }

  async function layoutFor(name: string): Promise<OciLayout> {
    if (!NAME_RE.test(name) || name.length > 255) {
      throw new HttpFailure(400, 'NAME_INVALID', `invalid repository name ${JSON.stringify(name)}`);
    }
    const local = localName(name);
    let layout = await options.resolveLayout(local);
    // A store repository that itself starts with a prefix stays reachable under its full name.
    if (!layout && local !== name) layout = await options.resolveLayout(name);
    if (!layout) {
      if (options.expected?.(local)) throw notYet(`repository ${name}`);
      throw new HttpFailure(404, 'NAME_UNKNOWN', `repository ${name} not known`);
    }
    return layout;
  }

  return async function handle(req, res) {
    const url = new URL(req.url ?? '/', 'http://registry.invalid');
    const path = url.pathname;
    if (path !== '/v2' && !path.startsWith('/v2/')) return false;
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    try {
      const method = req.method ?? 'GET';
      if (method !== 'GET' && method !== 'HEAD') {
        throw new HttpFailure(405, 'UNSUPPORTED', `${method} is not supported: this registry is read-only`, {
          Allow: 'GET, HEAD',
        });
      }
      const route = parseRoute(path);
      const head = method === 'HEAD';
      switch (route.kind) {
        case 'base':
          sendJson(res, 200, {}, head);
          break;
        case 'catalog':
          await serveCatalog(res, url, head);
          break;
        case 'tags':
          await serveTags(res, url, route.name, await layoutFor(route.name), head);
          break;
        case 'manifest': {
          const found = await serveManifest(res, route.reference, await layoutFor(route.name), head);
          if (!found) {
            if (
              !DIGEST_RE.test(route.reference) &&
              options.expected?.(localName(route.name), route.reference)
            )
              throw notYet(`${route.name}:${route.reference}`);
            throw new HttpFailure(
              404,
              'MANIFEST_UNKNOWN',
              `manifest ${route.name}:${route.reference} not known`,
            );
          }
          break;
        }
        case 'blob':
          await serveBlob(req, res, route.digest, await layoutFor(route.name), head);
          break;
      }
    } catch (err) {
      if (res.headersSent) {
        // Mid-body failure (often the client went away): cut the connection so a client sees a short read.
        if ((err as NodeJS.ErrnoException)?.code !== 'ERR_STREAM_PREMATURE_CLOSE')
          options.onError?.(err, req);
        res.destroy();
        return true;
      }
      if (err instanceof HttpFailure) {
        for (const [k, v] of Object.entries(err.extraHeaders)) res.setHeader(k, v);
        sendError(res, err.status, err.code, err.message, req.method === 'HEAD');
      } else {
        options.onError?.(err, req);
        sendError(res, 500, 'UNKNOWN', 'internal error', req.method === 'HEAD');
      }
    }
    return true;
  };

  async function serveCatalog(res: ServerResponse, url: URL, head: boolean): Promise<void> {
    const names = new Set<string>();
    for (const name of await options.repositories()) {
      if (!NAME_RE.test(name)) continue;
      names.add(name);
      for (const prefix of prefixes) names.add(`${prefix}/${name}`);
    }
    const page = paginate([...names].sort(), url, '/v2/_catalog');
    if (page.link) res.setHeader('Link', page.link);
    sendJson(res, 200, { repositories: page.items }, head);
  }

  async function serveTags(res: ServerResponse, url: URL, name: string, layout: OciLayout, head: boolean) {
    const tags = [...new Set(await layout.tags())].sort();
    const page = paginate(tags, url, `/v2/${name}/tags/list`);
    if (page.link) res.setHeader('Link', page.link);
    sendJson(res, 200, { name, tags: page.items }, head);
  }
}

function parseRoute(path: string): Route {
  if (path === '/v2' || path === '/v2/') return { kind: 'base' };
  if (path === '/v2/_catalog') return { kind: 'catalog' };
  const rest = path.slice('/v2/'.length);
  let m = /^(.+)\/tags\/list$/.exec(rest);
  if (m) return { kind: 'tags', name: decode(m[1]) };
  m = /^(.+)\/manifests\/([^/]+)$/.exec(rest);
  if (m) {
    const reference = decode(m[2]);
    if (!TAG_RE.test(reference) && !DIGEST_RE.test(reference)) {
      // Digest-shaped but unsupported algorithm/encoding is a bad digest; anything else a bad tag.
      const code = reference.includes(':') ? 'DIGEST_INVALID' : 'TAG_INVALID';
      throw new HttpFailure(400, code, `invalid manifest reference ${JSON.stringify(reference)}`);
    }
    return { kind: 'manifest', name: decode(m[1]), reference };
  }
  m = /^(.+)\/blobs\/([^/]+)$/.exec(rest);
  if (m) {
    const digest = decode(m[2]);
    if (!DIGEST_RE.test(digest)) {
      throw new HttpFailure(400, 'DIGEST_INVALID', `invalid digest ${JSON.stringify(digest)}`);
    }
    return { kind: 'blob', name: decode(m[1]), digest };
  }
  throw new HttpFailure(404, 'NOT_FOUND', `no route for ${path}`);
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpFailure(400, 'NAME_INVALID', 'malformed percent-encoding in path');
  }
}

async function serveManifest(
  res: ServerResponse,
  reference: string,
  layout: OciLayout,
  head: boolean,
): Promise<boolean> {
  // One read gives bytes and descriptor together, so a tag moved by a concurrent sync cannot mix
  // the digest of one version with the body of another. A digest no longer in index.json is still
  // served from its blob while the GC grace keeps it.
  const found = await layout.manifestGet(reference);
  if (!found) return false;
  const { bytes } = found;
  const mediaType = found.manifest.mediaType ?? found.descriptor.mediaType;
  const digest = found.descriptor.digest;
  res.statusCode = 200;
  res.setHeader('Content-Type', mediaType);
  res.setHeader('Content-Length', String(bytes.length));
  res.setHeader('Docker-Content-Digest', digest);
  res.setHeader('ETag', `"${digest}"`);
  res.end(head ? undefined : bytes);
  return true;
}

async function serveBlob(
  req: IncomingMessage,
  res: ServerResponse,
  digest: string,
  layout: OciLayout,
  head: boolean,
): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // An open descriptor keeps the bytes readable even if GC unlinks the file mid-download.
    handle = await open(layout.blobPath(digest), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new HttpFailure(404, 'BLOB_UNKNOWN', `blob ${digest} not known`);
    }
    throw err;
  }
  try {
    const { size } = await handle.stat();
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Docker-Content-Digest', digest);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', `"${digest}"`);
    const range = parseRange(req.headers.range, size);
    if (range === null) {
      throw new HttpFailure(416, 'RANGE_INVALID', `range ${req.headers.range} not satisfiable`, {
        'Content-Range': `bytes */${size}`,
      });
    }
    let start = 0;
    let end = size - 1;
    if (range) {
      ({ start, end } = range);
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    } else {
      res.statusCode = 200;
    }
    const length = size === 0 ? 0 : end - start + 1;
    res.setHeader('Content-Length', String(length));
    if (head || length === 0) {
      res.end();
      return;
    }
    await sendFileRange(handle, res, start, length);
  } finally {
    await handle.close().catch(() => {});
  }
}

// 1 MiB reads: with the default 64 KiB stream chunks, the per-chunk cost (threadpool hop, stream
// plumbing, one write syscall) capped 16 parallel downloads at about half of a sendfile server.
const SEND_CHUNK = 1024 * 1024;

/**
 * Streams `length` bytes from `start` with two reused buffers: the next read runs while the previous
 * chunk is being written, and a buffer is refilled only after `drain` (the socket has taken it).
 */
async function sendFileRange(handle: FileHandle, res: ServerResponse, start: number, length: number) {
  const size = Math.min(SEND_CHUNK, length);
  const buffers = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)];
  let which = 0;
  let position = start;
  let remaining = length;
  const readInto = (buf: Buffer, at: number) => {
    const p = handle.read(buf, 0, Math.min(size, remaining), at);
    p.catch(() => {}); // awaited below; a read left behind by a closed client must not go unhandled
    return p;
  };
  let reading = readInto(buffers[0], position);
  while (remaining > 0) {
    const { bytesRead, buffer } = await reading;
    if (bytesRead === 0) throw new Error(`blob file ended ${remaining} bytes early`);
    position += bytesRead;
    remaining -= bytesRead;
    which ^= 1;
    // The other buffer was handed to the socket before the last drain, so it is free to refill.
    if (remaining > 0) reading = readInto(buffers[which], position);
    const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    if (!res.write(chunk)) await drained(res);
    // Accepted without backpressure (a small chunk) may still be queued: never refill that buffer.
    else if (remaining > 0) buffers[which ^ 1] = Buffer.allocUnsafeSlow(size);
  }
  res.end();
}

/** Resolves on `drain`; rejects when the response closes first (the client went away). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      res.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => {
      const err = new Error('client closed the connection') as NodeJS.ErrnoException;
      err.code = 'ERR_STREAM_PREMATURE_CLOSE';
      done(err);
    };
    if (res.destroyed) {
      onClose();
      return;
    }
    res.on('drain', onDrain);
    res.on('close', onClose);
    res.on('error', done);
  });
}

function paginate(all: string[], url: URL, path: string): { items: string[]; link?: string } {
  const nParam = url.searchParams.get('n');
  const last = url.searchParams.get('last');
  let items = last ? all.filter((x) => x > last) : all;
  let n = DEFAULT_PAGE;
  if (nParam !== null) {
    const parsed = Number(nParam);
    if (!Number.isInteger(parsed) || parsed < 0) {
      throw new HttpFailure(400, 'PAGINATION_NUMBER_INVALID', `invalid n=${nParam}`);
    }
    n = parsed;
  }
  if (n === 0) return { items: [] };
  let link: string | undefined;
  if (items.length > n) {
    items = items.slice(0, n);
    const next = new URLSearchParams({ n: String(n), last: items[items.length - 1] });
    link = `<${path}?${next.toString()}>; rel="next"`;
  }
  return { items, link };
}

function sendJson(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = Buffer.from(JSON.stringify(body));
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', String(text.length));
  res.end(head ? undefined : text);
}

function sendError(res: ServerResponse, status: number, code: string, message: string, head: boolean): void {
  sendJson(res, status, { errors: [{ code, message, detail: null }] }, head);
}

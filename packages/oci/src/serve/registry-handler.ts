// A read-only OCI distribution endpoint (/v2/) over OCI image layouts on disk: the embedded
// registry of oci-sync and the demo's fake upstream. Plain node:http handler, no framework. What it
// finds damaged (a blob that does not hash to its digest, a referenced blob or manifest that is
// missing, an index.json that does not parse) it reports and answers 503 UNAVAILABLE, never bad bytes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BlobVerifications } from './blob-verification.js';
import { isOciError, OciErrorCode } from '../errors.js';
import type { OciLayout } from '../layout/layout.js';
import { type BlobServeContext, serveBlob } from './registry-blob.js';
import { HttpFailure, ResponseCut, sendError, sendJson } from './registry-failure.js';

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
  /**
   * A reader found part of `repository` (the store's name) damaged: the blob `digest` does not hash to
   * its digest or is missing though referenced, or (digest undefined) index.json cannot be read. The
   * client got a 503 or a cut body; the owner of the store quarantines and fetches it again.
   */
  onBlobDamaged?(repository: string, digest: string | undefined, reason: string): void;
  /**
   * The digest to serve for `repository:tag` instead of the tagged one, when the owner knows that one is
   * damaged and holds an older complete version (an air-gapped store with nothing to fetch it from).
   */
  tagFallback?(repository: string, tag: string): string | undefined | Promise<string | undefined>;
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

export function createRegistryHandler(options: RegistryHandlerOptions): RegistryHandler {
  const raw = options.pathPrefix === undefined ? [] : [options.pathPrefix].flat();
  const prefixes = raw.map((p) => p.replace(/^\/+|\/+$/g, '')).filter((p) => p !== '');
  for (const prefix of prefixes) {
    if (!NAME_RE.test(prefix)) {
      throw new TypeError(`registry handler: invalid pathPrefix ${JSON.stringify(prefix)}`);
    }
  }
  const retryAfter = String(options.retryAfterSeconds ?? 60);
  const verifications = new BlobVerifications();

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

  /** 503 UNAVAILABLE for what the store holds damaged (reported; the owner repairs it). */
  function unavailable(message: string): HttpFailure {
    return new HttpFailure(503, 'UNAVAILABLE', `${message}; try again later or another registry`, {
      'Retry-After': retryAfter,
    });
  }

  /** The layout of a request's repository, and the store's name for it (for reports). */
  async function layoutFor(name: string): Promise<{ layout: OciLayout; repository: string }> {
    if (!NAME_RE.test(name) || name.length > 255) {
      throw new HttpFailure(400, 'NAME_INVALID', `invalid repository name ${JSON.stringify(name)}`);
    }
    const local = localName(name);
    let repository = local;
    let layout = await options.resolveLayout(local);
    // A store repository that itself starts with a prefix stays reachable under its full name.
    if (!layout && local !== name) {
      repository = name;
      layout = await options.resolveLayout(name);
    }
    if (!layout) {
      if (options.expected?.(local)) throw notYet(`repository ${name}`);
      throw new HttpFailure(404, 'NAME_UNKNOWN', `repository ${name} not known`);
    }
    return { layout, repository };
  }

  function report(repository: string, digest: string | undefined, reason: string): void {
    try {
      options.onBlobDamaged?.(repository, digest, reason);
    } catch {
      // a failing listener must not turn the answer into a 500
    }
  }

  function blobContext(repository: string): BlobServeContext {
    return { verifications, unavailable, report: (digest, reason) => report(repository, digest, reason) };
  }

  return async function handle(req, res) {
    const url = new URL(req.url ?? '/', 'http://registry.invalid');
    const path = url.pathname;
    if (path !== '/v2' && !path.startsWith('/v2/')) return false;
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    // the store's repository the request resolved to, for reports of damage
    let repository: string | undefined;
    const open = async (name: string) => {
      const found = await layoutFor(name);
      repository = found.repository;
      return found.layout;
    };
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
          await serveTags(res, url, route.name, await open(route.name), head);
          break;
        case 'manifest': {
          const layout = await open(route.name);
          const found = await serveManifest(res, route.reference, layout, head, repository as string);
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
        case 'blob': {
          const layout = await open(route.name);
          await serveBlob(req, res, route.digest, layout, head, blobContext(repository as string));
          break;
        }
      }
    } catch (caught) {
      let err = caught;
      if (repository !== undefined && isOciError(err, OciErrorCode.LAYOUT_INVALID)) {
        // index.json torn or hand-edited: the owner rebuilds it
        report(repository, undefined, (err as Error).message);
        err = unavailable(`the mirror's index of ${repository} is damaged; it is being rebuilt`);
      }
      if (err instanceof ResponseCut) return true;
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

  async function serveManifest(
    res: ServerResponse,
    reference: string,
    layout: OciLayout,
    head: boolean,
    repository: string,
  ): Promise<boolean> {
    const wanted =
      (DIGEST_RE.test(reference) ? undefined : await options.tagFallback?.(repository, reference)) ??
      reference;
    // One read gives bytes and descriptor together, so a tag moved by a concurrent sync cannot mix
    // the digest of one version with the body of another. A digest no longer in index.json is still
    // served from its blob while the GC grace keeps it.
    let found: Awaited<ReturnType<OciLayout['manifestGet']>>;
    try {
      found = await layout.manifestGet(wanted);
    } catch (err) {
      if (!isOciError(err, OciErrorCode.DIGEST_MISMATCH)) throw err;
      const digest = (await layout.resolve(wanted))?.digest;
      report(repository, digest, err.message);
      throw unavailable(
        `manifest ${repository}:${reference} is damaged in the mirror's store; it is being repaired`,
      );
    }
    if (!found) {
      // tagged in index.json but its blob is gone: damage, not an unknown manifest
      const desc = await layout.resolve(wanted);
      if (desc && !(await layout.blobHas(desc.digest))) {
        report(repository, desc.digest, 'missing from the store');
        throw unavailable(
          `manifest ${repository}:${reference} is missing from the mirror's store; it is being repaired`,
        );
      }
      return false;
    }
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

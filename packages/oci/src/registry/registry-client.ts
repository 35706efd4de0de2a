// The OCI distribution client: Transport for `kind: 'registry'` references, built from the
// transport (pools, TLS), auth, retry and the manifest/blob/upload modules.
import type { Readable } from 'node:stream';
import { AuthManager, repositoryScope } from './auth.js';
import { blobDownload } from './blob-download.js';
import { blobUpload, DEFAULT_CHUNK_BYTES } from './blob-upload.js';
import { OciError, OciErrorCode } from '../errors.js';
import { dumpBody, header, HttpTransport, readBody } from '../connection/http-transport.js';
import { type OciLogger, silentLogger } from '../logger.js';
import { manifestGet, manifestHead, manifestPut, type RegistryRef } from './manifest.js';
import type { ProxyRoute, ProxyRouter } from '../connection/proxy-config.js';
import { formatReference } from '../reference.js';
import { RegistryHttp } from './registry-http.js';
import { HostBackoff, type ResolvedRetryOptions, type RetryOptions, resolveRetryOptions } from '../retry.js';
import type {
  BlobGetOptions,
  BlobPutOptions,
  BlobPutResult,
  CredentialResolver,
  Descriptor,
  HostOptions,
  ManifestBytes,
  Reference,
  Transport,
} from '../types.js';

export interface RegistryClientOptions {
  hosts?: HostOptions[];
  credentials?: CredentialResolver;
  logger?: OciLogger;
  retry?: RetryOptions;
  userAgent?: string;
  /** Time to response headers and maximum body silence (default 60 s each). */
  timeouts?: { headersMs?: number; bodyMs?: number };
  /** PATCH chunk size for chunked uploads (default 8 MiB). */
  chunkBytes?: number;
  /** Forward proxy routing (default: the environment's HTTPS_PROXY/HTTP_PROXY/NO_PROXY and `hosts[].proxy`). */
  proxy?: ProxyRouter;
}

const TAGS_PAGE = 1000;
const TAGS_MAX_BYTES = 16 * 1024 * 1024;

function registryRef(ref: Reference): RegistryRef {
  if (ref.kind !== 'registry') {
    throw new OciError(OciErrorCode.UNSUPPORTED, `RegistryClient cannot handle ${formatReference(ref)}`, {
      target: ref.path,
    });
  }
  return ref;
}

export class RegistryClient implements Transport {
  private readonly http: HttpTransport;
  private readonly registry: RegistryHttp;
  private readonly retry: ResolvedRetryOptions;
  private readonly log: OciLogger;
  private readonly chunkBytes: number;

  constructor(options: RegistryClientOptions = {}) {
    this.log = options.logger ?? silentLogger;
    this.retry = resolveRetryOptions(options.retry);
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.http = new HttpTransport({
      hosts: options.hosts,
      userAgent: options.userAgent ?? 'trivy-mirror',
      headersTimeoutMs: options.timeouts?.headersMs,
      bodyTimeoutMs: options.timeouts?.bodyMs,
      proxy: options.proxy,
    });
    for (const h of options.hosts ?? []) {
      if (h.insecureSkipVerify) this.log.warn({ host: h.host }, 'TLS verification disabled for host');
    }
    const auth = new AuthManager(this.http, options.credentials);
    this.registry = new RegistryHttp(this.http, auth, new HostBackoff(), this.retry, this.log);
  }

  manifestHead(
    ref: Reference,
    options: { signal?: AbortSignal; retry?: boolean } = {},
  ): Promise<Descriptor | undefined> {
    return manifestHead(this.registry, registryRef(ref), options.signal, options.retry);
  }

  manifestGet(ref: Reference, options: { signal?: AbortSignal } = {}): Promise<ManifestBytes> {
    return manifestGet(this.registry, registryRef(ref), options.signal);
  }

  manifestPut(
    ref: Reference,
    bytes: Buffer,
    mediaType: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<string> {
    return manifestPut(this.registry, registryRef(ref), bytes, mediaType, options.signal);
  }

  async blobHead(
    ref: Reference,
    digest: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<Descriptor | undefined> {
    const r = registryRef(ref);
    const res = await this.registry.send({
      host: r.registry,
      method: 'HEAD',
      path: `/v2/${r.repository}/blobs/${digest}`,
      scopes: [repositoryScope(r.repository)],
      expect: [200, 404],
      what: `blob ${r.registry}/${r.repository}@${digest}`,
      notFound: OciErrorCode.BLOB_UNKNOWN,
      signal: options.signal,
    });
    await dumpBody(res.body);
    if (res.statusCode === 404) return undefined;
    return {
      mediaType: header(res.headers, 'content-type') ?? 'application/octet-stream',
      digest: header(res.headers, 'docker-content-digest') ?? digest,
      size: Number(header(res.headers, 'content-length') ?? -1),
    };
  }

  blobGet(ref: Reference, descriptor: Descriptor, options: BlobGetOptions = {}): Promise<Readable> {
    return blobDownload(this.registry, registryRef(ref), descriptor, this.retry, this.log, options);
  }

  blobPut(
    ref: Reference,
    descriptor: Descriptor,
    open: () => Readable | Promise<Readable>,
    options: BlobPutOptions = {},
  ): Promise<BlobPutResult> {
    const r = registryRef(ref);
    return blobUpload(this.registry, r, descriptor, open, this.retry, this.log, {
      ...options,
      chunked: this.http.hostOptions(r.registry)?.chunkedUpload,
      chunkBytes: this.chunkBytes,
    });
  }

  /** Cross-repository mount only: true when the registry mounted the blob (201). */
  async blobMount(
    ref: Reference,
    digest: string,
    fromRepository: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const r = registryRef(ref);
    const res = await this.registry.send({
      host: r.registry,
      method: 'POST',
      path: `/v2/${r.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepository)}`,
      headers: { 'content-length': '0' },
      scopes: [repositoryScope(r.repository, true), repositoryScope(fromRepository)],
      expect: [201, 202],
      what: `blob mount ${r.registry}/${r.repository}@${digest} from ${fromRepository}`,
      signal: options.signal,
    });
    await dumpBody(res.body);
    if (res.statusCode === 201) return true;
    // the registry opened an upload session instead: cancel it so it does not linger
    const location = header(res.headers, 'location');
    if (location) {
      try {
        const del = await this.registry.send({
          host: r.registry,
          method: 'DELETE',
          path: this.registry.url(r.registry, location).href,
          scopes: [repositoryScope(r.repository, true)],
          expect: [200, 202, 204, 404],
          what: 'cancel upload session',
          retry: false,
          signal: options.signal,
        });
        await dumpBody(del.body);
      } catch {
        // sessions expire on their own
      }
    }
    return false;
  }

  async tagList(ref: Reference, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const r = registryRef(ref);
    const tags: string[] = [];
    let path: string | undefined = `/v2/${r.repository}/tags/list?n=${TAGS_PAGE}`;
    for (let page = 0; path && page < 10_000; page++) {
      const res = await this.registry.send({
        host: r.registry,
        method: 'GET',
        path,
        scopes: [repositoryScope(r.repository)],
        expect: [200],
        what: `tags of ${r.registry}/${r.repository}`,
        notFound: OciErrorCode.NAME_UNKNOWN,
        signal: options.signal,
      });
      const body = await readBody(res.body, TAGS_MAX_BYTES, () => new Error('tag list too large'));
      const parsed = JSON.parse(body.toString('utf8')) as { tags?: string[] | null };
      tags.push(...(parsed.tags ?? []));
      path = nextLink(header(res.headers, 'link'));
    }
    return tags;
  }

  /** GET /v2/: checks reachability and credentials for a registry host. */
  async ping(registry: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const res = await this.registry.send({
      host: registry,
      method: 'GET',
      path: '/v2/',
      scopes: [],
      expect: [200],
      what: 'ping',
      signal: options.signal,
    });
    await dumpBody(res.body);
  }

  /** How requests to a registry host travel: direct, or through which proxy and why. */
  route(registry: string): ProxyRoute {
    return this.http.route(this.http.baseUrl(registry));
  }

  /** One GET /v2/ without credentials or retries (the self-check's view): status and headers. */
  async v2Probe(
    registry: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; url: string }> {
    const url = new URL('/v2/', this.http.baseUrl(registry));
    const res = await this.http.request({ method: 'GET', url, signal: options.signal });
    await dumpBody(res.body);
    return { status: res.statusCode, headers: res.headers, url: url.href };
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

/** The `rel="next"` target of a Link header (RFC 8288), relative or absolute. */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]*)>\s*;(.*)/.exec(part.trim());
    if (m && /rel="?next"?/i.test(m[2] ?? '')) return m[1];
  }
  return undefined;
}

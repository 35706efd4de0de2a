// HTTP plumbing for registries: one keep-alive undici dispatcher per origin (its connection count is the
// per-host concurrency limit), direct or through the forward proxy, scheme choice (https unless plainHttp
// or loopback), extra CAs.
import type { Dispatcher } from 'undici';
import { explainConnectionError } from './connection-errors.js';
import { OciError, OciErrorCode } from '../errors.js';
import { originDispatcher } from './host-dispatcher.js';
import { ProxyRouter, type ProxyRoute } from './proxy-config.js';
import { isLoopbackHost } from '../reference.js';
import type { HostOptions } from '../types.js';

export const DEFAULT_MAX_CONCURRENCY = 6;

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer | string | NodeJS.ReadableStream | null;
  signal?: AbortSignal;
}

export interface HttpTransportOptions {
  hosts?: HostOptions[];
  /** Time to the response headers (default 60 s). */
  headersTimeoutMs?: number;
  /** Maximum silence while a body streams (default 60 s). */
  bodyTimeoutMs?: number;
  userAgent?: string;
  /** Forward proxy routing (default: HTTPS_PROXY/HTTP_PROXY/NO_PROXY and `hosts[].proxy`). */
  proxy?: ProxyRouter;
}

interface OriginDispatcher {
  dispatcher: Dispatcher;
  route: ProxyRoute;
}

export class HttpTransport {
  private readonly hosts = new Map<string, HostOptions>();
  private readonly pools = new Map<string, OriginDispatcher>();
  private readonly options: HttpTransportOptions;
  readonly proxy: ProxyRouter;

  constructor(options: HttpTransportOptions = {}) {
    this.options = options;
    for (const h of options.hosts ?? []) this.hosts.set(h.host.toLowerCase(), h);
    this.proxy = options.proxy ?? new ProxyRouter({ hosts: options.hosts });
  }

  hostOptions(host: string): HostOptions | undefined {
    return this.hosts.get(host.toLowerCase());
  }

  /** https unless the host is configured `plainHttp: true` or is a loopback host not configured otherwise. */
  scheme(host: string): 'http' | 'https' {
    const opts = this.hostOptions(host);
    const plain = opts?.plainHttp ?? isLoopbackHost(host);
    return plain ? 'http' : 'https';
  }

  /** Base URL of a registry host: `https://HOST`. */
  baseUrl(host: string): URL {
    return new URL(`${this.scheme(host)}://${host}`);
  }

  /** Refuses plain http to hosts that did not opt in (token realms, redirects that downgrade). */
  assertSchemeAllowed(url: URL): void {
    if (url.protocol === 'https:') return;
    if (url.protocol !== 'http:') {
      throw new OciError(
        OciErrorCode.INSECURE_REFUSED,
        `unsupported URL scheme ${url.protocol} (${url.host})`,
        {
          target: url.host,
        },
      );
    }
    if (this.hostOptions(url.host)?.plainHttp || isLoopbackHost(url.host)) return;
    throw new OciError(
      OciErrorCode.INSECURE_REFUSED,
      `refusing plain http to ${url.host}; configure the host with plainHttp: true to allow it`,
      { target: url.host },
    );
  }

  async request(req: HttpRequest): Promise<Dispatcher.ResponseData> {
    this.assertSchemeAllowed(req.url);
    const pool = this.pool(req.url);
    // A per-host timeout (registries[].timeoutSeconds) overrides the client-wide ones.
    const hostTimeoutMs = (this.hostOptions(req.url.host)?.timeoutSeconds ?? 0) * 1000 || undefined;
    const headers: Record<string, string> = { ...req.headers };
    if (this.options.userAgent && !headers['user-agent']) headers['user-agent'] = this.options.userAgent;
    try {
      return await pool.dispatcher.request({
        origin: req.url.origin,
        method: req.method,
        path: req.url.pathname + req.url.search,
        headers,
        body: req.body as Dispatcher.DispatchOptions['body'],
        signal: req.signal,
        headersTimeout: hostTimeoutMs ?? this.options.headersTimeoutMs ?? 60_000,
        bodyTimeout: hostTimeoutMs ?? this.options.bodyTimeoutMs ?? 60_000,
      });
    } catch (err) {
      if (req.signal?.aborted) throw err;
      throw (await explainConnectionError(err, req.url, pool.route, this.hostOptions(req.url.host))) ?? err;
    }
  }

  /** How requests to a URL travel (direct or which proxy, and why). */
  route(url: URL): ProxyRoute {
    return this.proxy.route(url);
  }

  private pool(url: URL): OriginDispatcher {
    const origin = url.origin;
    let pool = this.pools.get(origin);
    if (pool) return pool;
    const opts = this.hostOptions(url.host);
    const route = this.proxy.route(url);
    const dispatcher = originDispatcher(
      origin,
      { host: opts, route, connections: opts?.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY },
      'pool',
    );
    pool = { dispatcher, route };
    this.pools.set(origin, pool);
    return pool;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()].map((p) => p.dispatcher);
    this.pools.clear();
    // a graceful close waits for requests in flight; a stalled one must not hold shutdown forever
    await Promise.all(
      pools.map(async (p) => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((r) => {
          timer = setTimeout(() => r('late'), 2000);
        });
        const done = await Promise.race([p.close().then(() => 'closed' as const), late]).catch(
          () => 'late' as const,
        );
        clearTimeout(timer);
        if (done === 'late') await p.destroy().catch(() => undefined);
      }),
    );
  }
}

/** First value of a response header. */
export function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads a body up to `max` bytes; throws `tooLarge()` as soon as it grows past that. */
export async function readBody(
  body: Dispatcher.ResponseData['body'],
  max: number,
  tooLarge: () => Error,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > max) {
      body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, n);
}

/** Discards a body so the connection goes back to the pool. */
export async function dumpBody(body: Dispatcher.ResponseData['body']): Promise<void> {
  try {
    await body.dump({ limit: 64 * 1024 });
  } catch {
    // a broken connection is dropped by the pool anyway
  }
}

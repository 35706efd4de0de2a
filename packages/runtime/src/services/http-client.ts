// HTTP client for non-registry sources (VEX archives): credentials per host, per-host TLS and proxy settings
// from `registries:` and `proxy:`, redirects followed by hand so credentials never travel to another host,
// plain http only for loopback hosts (or hosts configured with `plainHttp`).
import type { Readable } from 'node:stream';
import {
  type CredentialStore,
  type HttpClient,
  type HttpResponse,
  type Logger,
  MirrorError,
} from '@trivy-mirror/plugin-api';
import { type HostOptions, type ProxyRoute, ProxyRouter } from '@trivy-mirror/oci';
import { explainConnectionError, originDispatcher, readBody } from '@trivy-mirror/oci/http';
import type { Dispatcher } from 'undici';
import { isLoopbackHost } from '../http/listen-address.js';

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface UndiciHttpClientOptions {
  credentials?: CredentialStore;
  hosts?: HostOptions[];
  logger: Logger;
  userAgent?: string;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Forward proxy routing (default: the environment and `hosts[].proxy`). */
  proxy?: ProxyRouter;
}

export class UndiciHttpClient implements HttpClient {
  readonly #agents = new Map<string, { dispatcher: Dispatcher; route: ProxyRoute }>();
  readonly #hosts: Map<string, HostOptions>;
  readonly #proxy: ProxyRouter;

  constructor(private readonly options: UndiciHttpClientOptions) {
    this.#hosts = new Map((options.hosts ?? []).map((h) => [h.host.toLowerCase(), h]));
    this.#proxy = options.proxy ?? new ProxyRouter({ hosts: options.hosts });
  }

  /** How requests to a URL travel: direct, or through which proxy and why. */
  route(url: URL): ProxyRoute {
    return this.#proxy.route(url);
  }

  #hostOptions(url: URL): HostOptions | undefined {
    return this.#hosts.get(url.host.toLowerCase()) ?? this.#hosts.get(url.hostname.toLowerCase());
  }

  #dispatcher(url: URL): { dispatcher: Dispatcher; route: ProxyRoute } {
    // keyed by origin: http and https to one host may take different proxies
    const key = url.origin.toLowerCase();
    let agent = this.#agents.get(key);
    if (!agent) {
      const h = this.#hostOptions(url);
      if (h?.insecureSkipVerify) {
        this.options.logger.warn(
          { host: url.host },
          'TLS verification disabled for host (insecureSkipVerify)',
        );
      }
      const hostTimeoutMs = (h?.timeoutSeconds ?? 0) * 1000 || undefined;
      const route = this.#proxy.route(url);
      const dispatcher = originDispatcher(
        url.origin,
        {
          host: h,
          route,
          headersTimeout: hostTimeoutMs ?? this.options.headersTimeoutMs ?? 30_000,
          bodyTimeout: hostTimeoutMs ?? this.options.bodyTimeoutMs ?? 120_000,
          connections: h?.maxConcurrency ?? 6,
        },
        'agent',
      );
      agent = { dispatcher, route };
      this.#agents.set(key, agent);
    }
    return agent;
  }

  #checkScheme(url: URL): void {
    if (url.protocol === 'https:') return;
    if (url.protocol !== 'http:')
      throw new MirrorError('HTTP_SCHEME', `unsupported URL scheme ${url.protocol} (${url.origin})`);
    if (isLoopbackHost(url.hostname) || this.#hostOptions(url)?.plainHttp) return;
    throw new MirrorError(
      'INSECURE_REFUSED',
      `plain http to ${url.host} refused: only loopback hosts or registries with plainHttp may use http://`,
    );
  }

  async request(
    url: string,
    init: {
      method?: 'GET' | 'HEAD';
      headers?: Record<string, string>;
      signal?: AbortSignal;
      anonymous?: boolean;
    } = {},
  ): Promise<HttpResponse> {
    const method = init.method ?? 'GET';
    const origin = new URL(url);
    let current = origin;
    for (let hop = 0; ; hop++) {
      this.#checkScheme(current);
      const headers: Record<string, string> = {
        'user-agent': this.options.userAgent ?? 'trivy-mirror',
        ...(init.headers ?? {}),
      };
      // Credentials only for the host the caller asked for: never after a redirect elsewhere.
      const sameHost = current.host.toLowerCase() === origin.host.toLowerCase();
      if (!init.anonymous && sameHost && this.options.credentials) {
        const cred = await this.options.credentials.forUrl(current.href);
        if (cred?.token) headers.authorization = `Bearer ${cred.token}`;
        else if (cred?.username !== undefined) {
          headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password ?? ''}`).toString('base64')}`;
        }
      }
      if (!sameHost) delete headers.authorization;
      const started = Date.now();
      let res: Dispatcher.ResponseData;
      const { dispatcher, route } = this.#dispatcher(current);
      try {
        res = await dispatcher.request({
          origin: current.origin,
          path: current.pathname + current.search,
          method,
          headers,
          signal: init.signal,
        });
      } catch (err) {
        if (init.signal?.aborted)
          throw new MirrorError('ABORTED', `request to ${current.host} aborted`, { cause: err });
        const explained = await explainConnectionError(err, current, route, this.#hostOptions(current));
        if (explained) throw new MirrorError(explained.code, explained.message, { cause: err });
        throw new MirrorError('NETWORK', `request to ${current.host} failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      this.options.logger.debug(
        {
          method,
          host: current.host,
          path: current.pathname,
          status: res.statusCode,
          ms: Date.now() - started,
        },
        'http',
      );
      const location = res.headers.location;
      if (REDIRECTS.has(res.statusCode) && location) {
        await res.body.dump();
        if (hop >= MAX_REDIRECTS)
          throw new MirrorError('HTTP_REDIRECTS', `too many redirects from ${origin.href}`);
        const next = new URL(Array.isArray(location) ? location[0] : location, current);
        if (origin.protocol === 'https:' && next.protocol === 'http:' && !isLoopbackHost(next.hostname)) {
          throw new MirrorError(
            'INSECURE_REFUSED',
            `redirect from https to plain http (${next.host}) refused`,
          );
        }
        current = next;
        continue;
      }
      return toResponse(res, current.href);
    }
  }

  async close(): Promise<void> {
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.allSettled(agents.map((a) => a.dispatcher.close()));
  }
}

function toResponse(res: Dispatcher.ResponseData, url: string): HttpResponse {
  const body = res.body as unknown as Readable & AsyncIterable<Buffer>;
  return {
    status: res.statusCode,
    headers: res.headers,
    url,
    body,
    async text(maxBytes = 16 * 1024 * 1024): Promise<string> {
      const bytes = await readBody(
        res.body,
        maxBytes,
        () => new MirrorError('HTTP_BODY_TOO_LARGE', `body of ${url} is larger than ${maxBytes} bytes`),
      );
      return bytes.toString('utf8');
    },
    async dump(): Promise<void> {
      await res.body.dump();
    },
  };
}

// One registry request with everything around it: per-host backoff, retries with full jitter,
// answering auth challenges, manual redirects (no Authorization to another origin), error mapping.
import type { Dispatcher } from 'undici';
import { type AuthManager, type Authorization, unauthorized } from './auth.js';
import { OciError, OciErrorCode } from '../errors.js';
import { dumpBody, header, type HttpRequest, type HttpTransport } from '../connection/http-transport.js';
import type { OciLogger } from '../logger.js';
import { responseError } from './registry-errors.js';
import {
  backoffDelay,
  type HostBackoff,
  isRetryable,
  type ResolvedRetryOptions,
  sleep,
  toOciError,
} from '../retry.js';

export type Body = HttpRequest['body'];

export interface SendOptions {
  host: string;
  method: HttpRequest['method'];
  /** Path and query on the registry (`/v2/…`) or an absolute URL (an upload Location). */
  path: string;
  headers?: Record<string, string>;
  /** Called for every (re)send, so streams can be reopened. */
  body?: () => Body | Promise<Body>;
  scopes: string[];
  /** Statuses handed back to the caller; anything else becomes an OciError. */
  expect: number[];
  /** What the request is about, for messages: 'manifest trivy-db:2'. */
  what: string;
  /** What a bare 404 means here. */
  notFound?: OciErrorCode;
  signal?: AbortSignal;
  /** Retry on 429/5xx/network errors (default true). Off for requests whose body cannot be replayed. */
  retry?: boolean;
  /** Follow 301/302/303/307/308 for GET/HEAD (default true). */
  followRedirects?: boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

export class RegistryHttp {
  constructor(
    readonly http: HttpTransport,
    private readonly auth: AuthManager,
    private readonly backoff: HostBackoff,
    private readonly retry: ResolvedRetryOptions,
    private readonly log: OciLogger,
  ) {}

  /** Absolute URL for a registry path or Location value (which may be relative). */
  url(host: string, pathOrUrl: string): URL {
    return new URL(pathOrUrl, this.http.baseUrl(host));
  }

  async send(opts: SendOptions): Promise<Dispatcher.ResponseData> {
    const attempts = opts.retry === false ? 1 : this.retry.attempts;
    for (let attempt = 0; ; attempt++) {
      await this.backoff.wait(opts.host, opts.signal);
      try {
        return await this.once(opts);
      } catch (e) {
        const err = toOciError(e, opts.host, opts.signal);
        if (!isRetryable(err) || attempt + 1 >= attempts) throw err;
        let delay = backoffDelay(attempt, this.retry);
        if (err.code === OciErrorCode.TOO_MANY_REQUESTS && err.retryAfterMs !== undefined) {
          if (err.retryAfterMs > this.retry.maxRetryAfterMs) throw err;
          delay = err.retryAfterMs;
          this.backoff.defer(opts.host, delay);
        } else if (err.code === OciErrorCode.TOO_MANY_REQUESTS) {
          this.backoff.defer(opts.host, delay);
        }
        this.log.warn(
          {
            host: opts.host,
            what: opts.what,
            code: err.code,
            status: err.status,
            attempt: attempt + 1,
            delayMs: delay,
          },
          'registry request failed; retrying',
        );
        await sleep(delay, opts.signal);
      }
    }
  }

  /** One attempt: authorise, send, answer one challenge, follow redirects, map errors. */
  private async once(opts: SendOptions): Promise<Dispatcher.ResponseData> {
    let auth: Authorization = await this.auth.authorize(opts.host, opts.scopes, opts.signal);
    let url = this.url(opts.host, opts.path);
    let res = await this.request(opts, url, auth.header);
    if (res.statusCode === 401) {
      await dumpBody(res.body);
      if (auth.final && auth.header) {
        throw unauthorized(opts.host, undefined, `${opts.what} answered 401`, auth.credentialSource);
      }
      auth = await this.auth.challenge(opts.host, res.headers['www-authenticate'], opts.scopes, opts.signal);
      res = await this.request(opts, url, auth.header);
      if (res.statusCode === 401) {
        await dumpBody(res.body);
        throw unauthorized(opts.host, undefined, `${opts.what} answered 401`, auth.credentialSource);
      }
    }
    const origin = url.origin;
    for (let hops = 0; REDIRECTS.has(res.statusCode) && opts.followRedirects !== false; hops++) {
      if (opts.method !== 'GET' && opts.method !== 'HEAD') break;
      const location = header(res.headers, 'location');
      await dumpBody(res.body);
      if (!location || hops >= MAX_REDIRECTS) {
        throw new OciError(
          OciErrorCode.HTTP_UNEXPECTED,
          `${opts.what}: too many or empty redirects from ${opts.host}`,
          {
            status: res.statusCode,
            target: opts.host,
          },
        );
      }
      url = new URL(location, url);
      // credentials stay with the registry: a storage host gets a presigned URL, not our token
      const authHeader = url.origin === origin ? auth.header : undefined;
      res = await this.request(opts, url, authHeader);
    }
    if (opts.expect.includes(res.statusCode)) return res;
    if (res.statusCode === 401) {
      await dumpBody(res.body);
      throw unauthorized(opts.host, undefined, `${opts.what} answered 401`, auth.credentialSource);
    }
    throw await responseError(res, opts.host, opts.what, opts.notFound);
  }

  private async request(
    opts: SendOptions,
    url: URL,
    authorization?: string,
  ): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { ...opts.headers };
    if (authorization) headers.authorization = authorization;
    const body = opts.body ? await opts.body() : undefined;
    return this.http.request({ method: opts.method, url, headers, body, signal: opts.signal });
  }
}

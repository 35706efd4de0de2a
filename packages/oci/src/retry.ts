// Retry policy: which failures are worth another attempt, Retry-After parsing, exponential backoff
// with full jitter, and per-host backoff state shared by every request to that host.
import { OciError, OciErrorCode } from './errors.js';

export interface RetryOptions {
  /** Total attempts per request (default 4). */
  attempts?: number;
  /** First backoff ceiling (default 500 ms); doubles per attempt. */
  baseDelayMs?: number;
  /** Backoff ceiling (default 15 s). */
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited out: the error is thrown (default 60 s). */
  maxRetryAfterMs?: number;
}

export type ResolvedRetryOptions = Required<RetryOptions>;

export function resolveRetryOptions(o: RetryOptions = {}): ResolvedRetryOptions {
  return {
    attempts: Math.max(1, o.attempts ?? 4),
    baseDelayMs: o.baseDelayMs ?? 500,
    maxDelayMs: o.maxDelayMs ?? 15_000,
    maxRetryAfterMs: o.maxRetryAfterMs ?? 60_000,
  };
}

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unparseable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  if (/^\d+\.\d+$/.test(s)) return Math.round(Number(s) * 1000);
  const when = Date.parse(s);
  if (Number.isNaN(when)) return undefined;
  return Math.max(0, when - now);
}

/** Full jitter (AWS architecture blog): uniform in [0, min(max, base * 2^attempt)). attempt starts at 0. */
export function backoffDelay(
  attempt: number,
  options: Pick<ResolvedRetryOptions, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);
const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

// Plain words for the common network failures, so a CLI user need not decode errno names.
const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

function rawCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** Turns a low-level error (undici, node:net, abort) into an OciError; OciErrors pass through. */
export function toOciError(err: unknown, target: string, signal?: AbortSignal): OciError {
  if (err instanceof OciError) return err;
  if (
    signal?.aborted ||
    (err as Error | undefined)?.name === 'AbortError' ||
    rawCode(err) === 'UND_ERR_ABORTED'
  ) {
    return new OciError(OciErrorCode.ABORTED, `request to ${target} aborted`, { target, cause: err });
  }
  const code = rawCode(err) ?? rawCode((err as Error | undefined)?.cause);
  if (code && TIMEOUT_CODES.has(code)) {
    return new OciError(OciErrorCode.TIMEOUT, `request to ${target} timed out (${code})`, {
      target,
      cause: err,
    });
  }
  const msg = (err as Error | undefined)?.message ?? String(err);
  const what = code && NETWORK_WORDS[code] ? `${NETWORK_WORDS[code]} (${code})` : (code ?? msg);
  return new OciError(OciErrorCode.NETWORK, `request to ${target} failed: ${what}`, {
    target,
    cause: err,
  });
}

/** True for failures another attempt may fix: 429, 5xx, network trouble, timeouts. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof OciError) {
    return (
      err.code === OciErrorCode.TOO_MANY_REQUESTS ||
      err.code === OciErrorCode.SERVER_ERROR ||
      err.code === OciErrorCode.NETWORK ||
      err.code === OciErrorCode.TIMEOUT
    );
  }
  const code = rawCode(err);
  return code !== undefined && NETWORK_CODES.has(code);
}

/** Per-host "do not send before" time, so one 429 slows every request to that host, not just one. */
export class HostBackoff {
  private readonly notBefore = new Map<string, number>();

  /** Pushes the host's next allowed request time to at least now + ms. */
  defer(host: string, ms: number, now = Date.now()): void {
    const until = now + ms;
    if (until > (this.notBefore.get(host) ?? 0)) this.notBefore.set(host, until);
  }

  /** Milliseconds until the host may be contacted again (0 when it may be now). */
  remaining(host: string, now = Date.now()): number {
    const until = this.notBefore.get(host);
    if (until === undefined) return 0;
    if (until <= now) {
      this.notBefore.delete(host);
      return 0;
    }
    return until - now;
  }

  async wait(host: string, signal?: AbortSignal): Promise<void> {
    const ms = this.remaining(host);
    if (ms > 0) await sleep(ms, signal);
  }
}

/** setTimeout as a promise that rejects with ABORTED when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new OciError(OciErrorCode.ABORTED, 'aborted while waiting to retry', { cause: signal.reason }));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new OciError(OciErrorCode.ABORTED, 'aborted while waiting to retry', { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

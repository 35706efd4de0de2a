// Sentinel-style errors: callers match on `code` (and `registryCodes`) instead of parsing text.

export const OciErrorCode = {
  /** A reference string that cannot be parsed. */
  REFERENCE_INVALID: 'REFERENCE_INVALID',
  /** 429 from a registry (registry code TOOMANYREQUESTS). */
  TOO_MANY_REQUESTS: 'TOOMANYREQUESTS',
  /** Blob missing on the registry or in a layout. */
  BLOB_UNKNOWN: 'BLOB_UNKNOWN',
  /** Manifest or tag missing. */
  MANIFEST_UNKNOWN: 'MANIFEST_UNKNOWN',
  /** Repository missing. */
  NAME_UNKNOWN: 'NAME_UNKNOWN',
  /** 401 after trying the credentials we have (or none). */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** 403. */
  DENIED: 'DENIED',
  /** Bytes did not hash to the expected digest. */
  DIGEST_MISMATCH: 'DIGEST_MISMATCH',
  /** Bytes count differs from the descriptor's size. */
  SIZE_MISMATCH: 'SIZE_MISMATCH',
  /** Manifest larger than the cap (4 MiB). */
  MANIFEST_TOO_LARGE: 'MANIFEST_TOO_LARGE',
  /** Manifest is not valid JSON or not a shape we accept. */
  MANIFEST_INVALID: 'MANIFEST_INVALID',
  /** 5xx from the registry after retries. */
  SERVER_ERROR: 'SERVER_ERROR',
  /** Connection reset, refused, DNS, TLS... after retries. */
  NETWORK: 'NETWORK',
  /** No answer in time. */
  TIMEOUT: 'TIMEOUT',
  /** The TLS handshake failed: an untrusted or expired certificate, or one for another name. */
  TLS: 'TLS',
  /** The forward proxy refused the request (407) or would not open a tunnel to the host. */
  PROXY: 'PROXY',
  /** The operation was aborted through an AbortSignal. */
  ABORTED: 'ABORTED',
  /** Any other unexpected HTTP answer (status in `status`). */
  HTTP_UNEXPECTED: 'HTTP_UNEXPECTED',
  /** Plain HTTP requested for a host that is not configured for it. */
  INSECURE_REFUSED: 'INSECURE_REFUSED',
  /** OCI layout on disk is missing or malformed. */
  LAYOUT_INVALID: 'LAYOUT_INVALID',
  /** Another process held the layout's index.json lock for longer than a waiter waits. */
  LAYOUT_LOCKED: 'LAYOUT_LOCKED',
  /** Operation not supported by this transport (e.g. write to a read-only one). */
  UNSUPPORTED: 'UNSUPPORTED',
} as const;
export type OciErrorCode = (typeof OciErrorCode)[keyof typeof OciErrorCode];

export interface OciErrorOptions {
  cause?: unknown;
  /** HTTP status, when the error came from an HTTP answer. */
  status?: number;
  /** Error codes from the registry's JSON error body (`errors[].code`). */
  registryCodes?: string[];
  /** Registry host (host[:port]) or layout path the error concerns. */
  target?: string;
  /** Milliseconds the server asked us to wait (Retry-After), when known. */
  retryAfterMs?: number;
}

export class OciError extends Error {
  readonly code: OciErrorCode;
  readonly status?: number;
  readonly registryCodes: string[];
  readonly target?: string;
  readonly retryAfterMs?: number;

  constructor(code: OciErrorCode, message: string, options: OciErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OciError';
    this.code = code;
    this.status = options.status;
    this.registryCodes = options.registryCodes ?? [];
    this.target = options.target;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** True when `err` is an OciError with one of `codes` (as `code` or among `registryCodes`). */
export function isOciError(err: unknown, ...codes: string[]): err is OciError {
  if (!(err instanceof OciError)) return false;
  if (codes.length === 0) return true;
  return codes.includes(err.code) || err.registryCodes.some((c) => codes.includes(c));
}

/** Errors after which Trivy (and we) try the next source: 429, 5xx, BLOB_UNKNOWN, network trouble. */
export function isFallbackError(err: unknown): boolean {
  return isOciError(
    err,
    OciErrorCode.TOO_MANY_REQUESTS,
    OciErrorCode.SERVER_ERROR,
    OciErrorCode.BLOB_UNKNOWN,
    OciErrorCode.NETWORK,
    OciErrorCode.TIMEOUT,
  );
}

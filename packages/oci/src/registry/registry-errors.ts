// Maps a registry's error answer (status + JSON `errors[].code`) to an OciError callers can match.
import type { Dispatcher } from 'undici';
import { OciError, OciErrorCode } from '../errors.js';
import { readBody } from '../connection/http-transport.js';
import { parseRetryAfter } from '../retry.js';

const KNOWN = new Set<string>(Object.values(OciErrorCode));

/** `errors[].code` of a distribution error body; [] when the body is not one. */
export function parseRegistryCodes(body: Buffer): { codes: string[]; messages: string[] } {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    const errors = Array.isArray(parsed?.errors) ? parsed.errors : [];
    return {
      codes: errors.map((e) => e?.code).filter((c): c is string => typeof c === 'string'),
      messages: errors.map((e) => e?.message).filter((m): m is string => typeof m === 'string'),
    };
  } catch {
    return { codes: [], messages: [] };
  }
}

/** The OciError code for an HTTP status and registry codes; `notFound` says what a bare 404 means. */
export function mapStatus(status: number, codes: string[], notFound?: OciErrorCode): OciErrorCode {
  if (status === 429 || codes.includes('TOOMANYREQUESTS')) return OciErrorCode.TOO_MANY_REQUESTS;
  if (status === 401) return OciErrorCode.UNAUTHORIZED;
  if (status === 403) return OciErrorCode.DENIED;
  if (status >= 500) return OciErrorCode.SERVER_ERROR;
  const known = codes.find((c) => KNOWN.has(c));
  if (known) return known as OciErrorCode;
  if (status === 404) return notFound ?? OciErrorCode.NAME_UNKNOWN;
  return OciErrorCode.HTTP_UNEXPECTED;
}

/** Reads (a bounded part of) the error body and builds the OciError. */
export async function responseError(
  res: Dispatcher.ResponseData,
  host: string,
  what: string,
  notFound?: OciErrorCode,
): Promise<OciError> {
  let body: Buffer = Buffer.alloc(0);
  try {
    body = await readBody(res.body, 64 * 1024, () => new Error('error body too large'));
  } catch {
    // keep what we know from the status
  }
  const { codes, messages } = parseRegistryCodes(body);
  const code = mapStatus(res.statusCode, codes, notFound);
  const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
  const detail = [codes.join(','), messages.join('; ')].filter(Boolean).join(' ');
  return new OciError(code, `${what}: ${host} answered ${res.statusCode}${detail ? ` (${detail})` : ''}`, {
    status: res.statusCode,
    registryCodes: codes,
    target: host,
    retryAfterMs,
  });
}

// Answers of the read-only registry handler that are not content: errors in the distribution format
// (an HttpFailure thrown anywhere becomes one), and the cut of a body that must not be completed.
import type { ServerResponse } from 'node:http';

/** An error answer: status, distribution error code, message and extra headers (Retry-After, …). */
export class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extraHeaders: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The body was cut on purpose before its end (a blob that failed verification): nothing to report. */
export class ResponseCut extends Error {}

export function sendJson(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = Buffer.from(JSON.stringify(body));
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', String(text.length));
  res.end(head ? undefined : text);
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  head: boolean,
): void {
  sendJson(res, status, { errors: [{ code, message, detail: null }] }, head);
}

// Answers GET/HEAD for one file or buffer the way go-getter needs: exact Content-Length on HEAD and GET,
// no Content-Encoding, single byte ranges (206), and 304 only when ETags are switched on.
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { parseRange } from '@trivy-mirror/oci/serve';

export interface ServedBody {
  /** A file on disk (kept open while streaming, so a concurrent swap does not cut the download). */
  file?: string;
  buffer?: Buffer;
  size: number;
  contentType: string;
  lastModified: Date;
  /** Strong ETag (quoted); sent and honoured only when `conditional` is true. */
  etag?: string;
  conditional: boolean;
}

// The Range parser lives in @trivy-mirror/oci, shared with the registry handler (null: unsatisfiable,
// answered with 416).

/**
 * Trivy v0.54 to v0.72 remove their VEX repository before downloading and keep nothing on a 304, so
 * they lose the repository (pkg/downloader, fixed in v0.73). They get no ETag and never a 304.
 */
export function wipesCacheOn304(userAgent: string | undefined): boolean {
  const m = /^trivy\/v?0\.(\d+)\.\d+/.exec(userAgent ?? '');
  const minor = m ? Number(m[1]) : Number.NaN;
  return minor >= 54 && minor <= 72;
}

function conditionalFor(req: IncomingMessage, body: ServedBody): boolean {
  return body.conditional && Boolean(body.etag) && !wipesCacheOn304(req.headers['user-agent']);
}

function notModified(req: IncomingMessage, body: ServedBody): boolean {
  if (!conditionalFor(req, body)) return false;
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) {
    return inm
      .split(',')
      .map((t) => t.trim().replace(/^W\//, ''))
      .some((t) => t === '*' || t === body.etag);
  }
  const ims = req.headers['if-modified-since'];
  if (ims !== undefined) {
    const t = Date.parse(ims);
    return Number.isFinite(t) && Math.floor(body.lastModified.getTime() / 1000) * 1000 <= t;
  }
  return false;
}

function rangeApplies(req: IncomingMessage, body: ServedBody): boolean {
  const raw = req.headers['if-range'];
  if (raw === undefined) return true;
  const ifRange = Array.isArray(raw) ? raw[0] : raw;
  if (ifRange.startsWith('"') || ifRange.startsWith('W/'))
    return conditionalFor(req, body) && ifRange === body.etag;
  return ifRange === body.lastModified.toUTCString();
}

export async function sendBody(req: IncomingMessage, res: ServerResponse, body: ServedBody): Promise<void> {
  res.setHeader('Content-Type', body.contentType);
  res.setHeader('Last-Modified', body.lastModified.toUTCString());
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Cache-Control', 'no-cache');
  if (conditionalFor(req, body)) res.setHeader('ETag', body.etag as string);
  if (notModified(req, body)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  const range = rangeApplies(req, body) ? parseRange(req.headers.range, body.size) : undefined;
  if (range === null) {
    res.statusCode = 416;
    res.setHeader('Content-Range', `bytes */${body.size}`);
    res.setHeader('Content-Length', '0');
    res.end();
    return;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? body.size - 1;
  const length = body.size === 0 ? 0 : end - start + 1;
  res.statusCode = range ? 206 : 200;
  if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${body.size}`);
  res.setHeader('Content-Length', String(length));
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  if (body.buffer) {
    res.end(body.buffer.subarray(start, end + 1));
    return;
  }
  await pipeline(createReadStream(body.file!, { start, end }), res).catch(() => {
    // The client went away or the file vanished mid-way: the socket is closed either way.
    res.destroy();
  });
}

export function sendJsonError(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  message: string,
): void {
  const payload = Buffer.from(`${JSON.stringify({ error: message })}\n`);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', String(payload.length));
  res.setHeader('Cache-Control', 'no-store');
  if (status === 503) res.setHeader('Retry-After', '60');
  res.end(req.method === 'HEAD' ? undefined : payload);
}

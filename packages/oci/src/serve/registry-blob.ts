// GET and HEAD of one blob for the registry handler: single ranges, streamed with two reused
// buffers, and verified. A file version not hashed yet is hashed once (shared by concurrent requests)
// while it is sent, and the last chunk of every body waits for the verdict: a blob that does not hash
// to its digest is cut short, so no client ever receives a complete wrong body. Versions hashed
// before are sent without hashing (the hot path). A referenced blob that is missing, or one found bad,
// is reported and answered 503 UNAVAILABLE: the mirror repairs it, and Trivy tries its next registry.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type FileHandle, open } from 'node:fs/promises';
import { type BlobVerdict, type BlobVerifications, fileVersion } from './blob-verification.js';
import { parseRange } from './http-range.js';
import type { OciLayout } from '../layout/layout.js';
import { HttpFailure, ResponseCut } from './registry-failure.js';

export interface BlobServeContext {
  verifications: BlobVerifications;
  /** A blob the layout needs is bad or missing (reported before the answer is sent). */
  report(digest: string, reason: string): void;
  /** The 503 UNAVAILABLE answer for something the store holds damaged. */
  unavailable(message: string): HttpFailure;
}

// 1 MiB reads: with the default 64 KiB stream chunks, the per-chunk cost (threadpool hop, stream
// plumbing, one write syscall) capped 16 parallel downloads at about half of a sendfile server.
const SEND_CHUNK = 1024 * 1024;

export async function serveBlob(
  req: IncomingMessage,
  res: ServerResponse,
  digest: string,
  layout: OciLayout,
  head: boolean,
  ctx: BlobServeContext,
): Promise<void> {
  let handle: FileHandle;
  try {
    // An open descriptor keeps the bytes readable even if GC unlinks the file mid-download.
    handle = await open(layout.blobPath(digest), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // Missing but referenced by a stored version: damage to repair, not an unknown blob.
    if ((await layout.referenced()).has(digest)) {
      ctx.report(digest, 'missing from the store');
      throw ctx.unavailable(`blob ${digest} is missing from the mirror's store; it is being repaired`);
    }
    throw new HttpFailure(404, 'BLOB_UNKNOWN', `blob ${digest} not known`);
  }
  let verifying: Promise<BlobVerdict> | undefined;
  try {
    const st = await handle.stat({ bigint: true });
    const size = Number(st.size);
    const key = `${layout.dir}\0${digest}`;
    const version = fileVersion(st);
    const known = ctx.verifications.known(key, version);
    const damaged = (reason: string) => {
      ctx.report(digest, reason);
      return ctx.unavailable(
        `blob ${digest} is damaged in the mirror's store (${reason}); it is being repaired`,
      );
    };
    if (known && !known.ok) throw damaged(known.reason);
    const range = parseRange(req.headers.range, size);
    if (range === null) {
      throw new HttpFailure(416, 'RANGE_INVALID', `range ${req.headers.range} not satisfiable`, {
        'Content-Range': `bytes */${size}`,
      });
    }
    const start = range ? range.start : 0;
    const end = range ? range.end : size - 1;
    const length = size === 0 ? 0 : end - start + 1;
    if (!known && !head) verifying = ctx.verifications.verify(key, version, handle, size, digest);
    // A body of one chunk waits for the verdict before its headers: a bad blob gets a clean 503.
    if (verifying && length <= SEND_CHUNK) {
      const verdict = await verifying;
      if (!verdict.ok) throw damaged(verdict.reason);
    }
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Docker-Content-Digest', digest);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', `"${digest}"`);
    if (range) {
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    } else {
      res.statusCode = 200;
    }
    res.setHeader('Content-Length', String(length));
    if (head || length === 0) {
      res.end();
      return;
    }
    const pending = verifying;
    const beforeLast =
      pending && length > SEND_CHUNK
        ? async () => {
            const verdict = await pending;
            if (!verdict.ok) ctx.report(digest, verdict.reason);
            return verdict.ok;
          }
        : undefined;
    await sendFileRange(handle, res, start, length, beforeLast);
  } finally {
    // a hash run started here reads through this descriptor: close it only after the run
    await verifying?.catch(() => undefined);
    await handle.close().catch(() => {});
  }
}

/**
 * Streams `length` bytes from `start` with two reused buffers: the next read runs while the previous
 * chunk is being written, and a buffer is refilled only after `drain` (the socket has taken it).
 * With `beforeLast`, the last chunk is sent only when it resolves true; otherwise the response is cut.
 */
async function sendFileRange(
  handle: FileHandle,
  res: ServerResponse,
  start: number,
  length: number,
  beforeLast?: () => Promise<boolean>,
) {
  const size = Math.min(SEND_CHUNK, length);
  const buffers = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)];
  let which = 0;
  let position = start;
  let remaining = length;
  const readInto = (buf: Buffer, at: number) => {
    const p = handle.read(buf, 0, Math.min(size, remaining), at);
    p.catch(() => {}); // awaited below; a read left behind by a closed client must not go unhandled
    return p;
  };
  let reading = readInto(buffers[0], position);
  while (remaining > 0) {
    const { bytesRead, buffer } = await reading;
    if (bytesRead === 0) throw new Error(`blob file ended ${remaining} bytes early`);
    position += bytesRead;
    remaining -= bytesRead;
    which ^= 1;
    // The other buffer was handed to the socket before the last drain, so it is free to refill.
    if (remaining > 0) reading = readInto(buffers[which], position);
    else if (beforeLast && !(await beforeLast())) {
      res.destroy();
      throw new ResponseCut('blob failed verification: response cut before its last chunk');
    }
    const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    if (!res.write(chunk)) await drained(res);
    // Accepted without backpressure (a small chunk) may still be queued: never refill that buffer.
    else if (remaining > 0) buffers[which ^ 1] = Buffer.allocUnsafeSlow(size);
  }
  res.end();
}

/** Resolves on `drain`; rejects when the response closes first (the client went away). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      res.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => {
      const err = new Error('client closed the connection') as NodeJS.ErrnoException;
      err.code = 'ERR_STREAM_PREMATURE_CLOSE';
      done(err);
    };
    if (res.destroyed) {
      onClose();
      return;
    }
    res.on('drain', onDrain);
    res.on('close', onClose);
    res.on('error', done);
  });
}

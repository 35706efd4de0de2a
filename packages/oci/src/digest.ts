// Content digests: sha256 of buffers, and a pass-through stream that checks size and digest.
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { OciError, OciErrorCode } from './errors.js';
import { noteStreamedBytes } from './gc.js';
import { DIGEST_RE } from './reference.js';
import type { Descriptor } from './types.js';

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

/** Throws DIGEST_MISMATCH unless `digest` is a sha256 digest we can verify. */
export function assertDigest(digest: string, what = 'digest'): void {
  if (!DIGEST_RE.test(digest)) {
    throw new OciError(
      OciErrorCode.DIGEST_MISMATCH,
      `${what} "${digest}" is not a sha256 digest we can verify`,
    );
  }
}

/**
 * Passes bytes through while hashing them. It holds the last chunk back until the end has been
 * verified, so a consumer (a file, an upload) never receives the complete blob when it is wrong;
 * it errors early when more bytes than `expected.size` arrive.
 */
export function createVerifyStream(expected: Descriptor): Transform {
  assertDigest(expected.digest, 'expected digest');
  const hash = createHash('sha256');
  let seen = 0;
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > expected.size) {
        cb(sizeError(expected, seen, true));
        return;
      }
      hash.update(chunk);
      noteStreamedBytes(chunk.length);
      const out = held;
      held = chunk;
      cb(null, out);
    },
    flush(cb: TransformCallback) {
      if (seen !== expected.size) {
        cb(sizeError(expected, seen, false));
        return;
      }
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== expected.digest) {
        cb(
          new OciError(
            OciErrorCode.DIGEST_MISMATCH,
            `digest mismatch: content of ${expected.digest} hashed to ${actual} (${seen} bytes)`,
            { target: expected.digest },
          ),
        );
        return;
      }
      cb(null, held);
    },
  });
}

function sizeError(expected: Descriptor, seen: number, early: boolean): OciError {
  return new OciError(
    OciErrorCode.SIZE_MISMATCH,
    `blob ${expected.digest}: expected ${expected.size} bytes, got ${early ? 'more than ' : ''}${early ? expected.size : seen}`,
    { target: expected.digest },
  );
}

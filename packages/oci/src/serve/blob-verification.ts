// Which stored blob files the registry handler has hashed, so each version of a file is hashed once
// and not on every download; while a version is unknown, one hash run is shared by every request.
// A file version is (dev, ino, size, mtime, ctime): a write into the file, a rename over it or a
// utimes changes ctime, which no process can set back, so a flipped byte never hides behind an old
// verdict. A good verdict is trusted for a day, then the file is hashed again (bit rot).
import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export type BlobVerdict = { ok: true } | { ok: false; reason: string };

export interface BlobVerificationOptions {
  /** Verdicts kept (least recently used go first); default 4096. */
  maxEntries?: number;
  /** How long a good verdict holds before the file is hashed again; default 24 h. */
  trustMs?: number;
  now?: () => number;
}

interface Known {
  version: string;
  verdict: BlobVerdict;
  at: number;
}

const HASH_CHUNK = 1024 * 1024;

/** The identity of one version of a file's content, from an fstat with `bigint: true`. */
export function fileVersion(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

export class BlobVerifications {
  readonly #known = new Map<string, Known>();
  readonly #running = new Map<string, Promise<BlobVerdict>>();
  readonly #max: number;
  readonly #trustMs: number;
  readonly #now: () => number;

  constructor(options: BlobVerificationOptions = {}) {
    this.#max = options.maxEntries ?? 4096;
    this.#trustMs = options.trustMs ?? 24 * 3600_000;
    this.#now = options.now ?? Date.now;
  }

  /** The verdict on this version of the blob file `key`, if it was hashed (and is still trusted). */
  known(key: string, version: string): BlobVerdict | undefined {
    const hit = this.#known.get(key);
    if (!hit || hit.version !== version) return undefined;
    if (hit.verdict.ok && this.#now() - hit.at > this.#trustMs) {
      this.#known.delete(key);
      return undefined;
    }
    // least recently used first in iteration order
    this.#known.delete(key);
    this.#known.set(key, hit);
    return hit.verdict;
  }

  /**
   * Hashes `size` bytes through `handle` and compares them with `digest`, or joins the hash run of
   * this version already going. The caller that starts a run must keep `handle` open until it settles.
   */
  verify(
    key: string,
    version: string,
    handle: FileHandle,
    size: number,
    digest: string,
  ): Promise<BlobVerdict> {
    const known = this.known(key, version);
    if (known) return Promise.resolve(known);
    const runKey = `${key}\0${version}`;
    let run = this.#running.get(runKey);
    if (!run) {
      run = hashHandle(handle, size)
        .then((actual): BlobVerdict => {
          const verdict: BlobVerdict =
            actual === digest
              ? { ok: true }
              : { ok: false, reason: `content hashes to ${actual} (${size} bytes)` };
          this.#remember(key, version, verdict);
          return verdict;
        })
        .finally(() => this.#running.delete(runKey));
      this.#running.set(runKey, run);
    }
    return run;
  }

  /** Forgets a file (it was moved away or replaced by its owner). */
  forget(key: string): void {
    this.#known.delete(key);
  }

  #remember(key: string, version: string, verdict: BlobVerdict): void {
    this.#known.delete(key);
    this.#known.set(key, { version, verdict, at: this.#now() });
    while (this.#known.size > this.#max) {
      const oldest = this.#known.keys().next().value as string;
      this.#known.delete(oldest);
    }
  }
}

/** sha256 of the first `size` bytes of an open file, read with positional reads (the file offset is not moved). */
async function hashHandle(handle: FileHandle, size: number): Promise<string> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafeSlow(Math.max(1, Math.min(HASH_CHUNK, size)));
  let position = 0;
  while (position < size) {
    const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, size - position), position);
    if (bytesRead === 0) break; // shorter than its stat said: the digest will not match
    hash.update(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
    position += bytesRead;
  }
  return `sha256:${hash.digest('hex')}`;
}

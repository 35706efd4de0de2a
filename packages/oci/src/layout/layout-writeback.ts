// Write-back while a large blob streams into the layout: what was written is flushed to disk as it
// goes, so the fsync before the rename waits for the tail only.
import type { WriteStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** A large blob's written part goes to disk every this many bytes while the rest still streams. */
export const WRITEBACK_BYTES = 32 * 1024 * 1024;

export interface Writeback {
  /** Stops issuing flushes and waits for the one in flight. */
  stop(): Promise<void>;
}

/**
 * Flushes what `out` has written so far (one fdatasync in flight, on a descriptor of our own), so
 * the fsync before the rename only waits for the tail: a 1 GB blob otherwise waits seconds for the
 * disk after its last byte arrived. A failed flush is left to that final fsync to report.
 */
export function startWriteback(out: WriteStream, syncer: FileHandle): Writeback {
  let flushed = 0;
  let inFlight: Promise<void> | undefined;
  const timer = setInterval(() => {
    const written = out.bytesWritten;
    if (inFlight || written - flushed < WRITEBACK_BYTES) return;
    inFlight = syncer
      .datasync()
      .then(
        () => {
          flushed = written;
        },
        () => undefined,
      )
      .finally(() => {
        inFlight = undefined;
      });
  }, 50);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}

/** Resolves once the write stream has created its file; rejects if it could not. */
export function opened(out: WriteStream): Promise<void> {
  if (!out.pending) return Promise.resolve();
  if (out.errored) return Promise.reject(out.errored);
  return new Promise((resolve, reject) => {
    const onOpen = () => {
      out.off('error', onError);
      resolve();
    };
    const onError = (err: Error) => {
      out.off('open', onOpen);
      reject(err);
    };
    out.once('open', onOpen);
    out.once('error', onError);
  });
}

// Writes one large file fast and durably: chunks are batched into big positional writes (one in
// flight while the caller produces the next batch), and writeback is started early with background
// fdatasync calls, so the final fsync (which must finish before the version swap) is short.
import type { FileHandle } from 'node:fs/promises';

export interface DurableFileWriterOptions {
  /** Bytes gathered before one write(v) call (default 4 MiB). */
  batchBytes?: number;
  /** Bytes written between two background fdatasync calls (default 128 MiB; 0 disables them). */
  syncEveryBytes?: number;
}

const DEFAULT_BATCH = 4 * 1024 * 1024;
const DEFAULT_SYNC_EVERY = 128 * 1024 * 1024;

export class DurableFileWriter {
  private readonly batchBytes: number;
  private readonly syncEveryBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private position = 0;
  private inFlight: Promise<unknown> | undefined;
  private backgroundSync: Promise<void> | undefined;
  private backgroundError: unknown;
  private lastSyncAt = 0;

  constructor(
    private readonly fh: FileHandle,
    options: DurableFileWriterOptions = {},
  ) {
    this.batchBytes = options.batchBytes ?? DEFAULT_BATCH;
    this.syncEveryBytes = options.syncEveryBytes ?? DEFAULT_SYNC_EVERY;
  }

  /** Bytes handed to write() so far. */
  get bytes(): number {
    return this.position + this.pendingBytes;
  }

  /**
   * Queues `chunk` (which must not be modified afterwards). Resolves once the caller may go on:
   * at most one batch is being written while the next one is gathered.
   */
  async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= this.batchBytes) await this.flushBatch();
  }

  /** Writes what is left and fsyncs the file; throws the first error of any earlier write or sync. */
  async finish(): Promise<void> {
    await this.flushBatch();
    await this.inFlight;
    this.inFlight = undefined;
    await this.backgroundSync;
    this.throwBackgroundError();
    // The durable point: every byte is on disk before the caller renames or swaps anything.
    await this.fh.sync();
  }

  /** Waits for outstanding work without throwing (before closing after a failure). */
  async settle(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
    await this.backgroundSync;
  }

  private async flushBatch(): Promise<void> {
    // One write in flight: wait for the previous one before starting the next (keeps order and
    // bounds memory to about two batches).
    await this.inFlight;
    this.throwBackgroundError();
    if (this.pendingBytes === 0) return;
    const buffers = this.pending;
    const position = this.position;
    this.position += this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    const write = this.writeAll(buffers, position);
    // Handled here so a failure before the next await is not an unhandled rejection; it is still
    // thrown by the next write(), finish() or the background sync.
    write.catch(() => undefined);
    this.inFlight = write;
    this.maybeStartSync();
  }

  /** writev can write less than asked (rare, e.g. on signals); loop until every byte is down. */
  private async writeAll(buffers: Buffer[], position: number): Promise<void> {
    let bufs = buffers;
    let pos = position;
    while (bufs.length > 0) {
      const { bytesWritten } =
        bufs.length === 1
          ? await this.fh.write(bufs[0], 0, bufs[0].length, pos)
          : await this.fh.writev(bufs, pos);
      pos += bytesWritten;
      let skip = bytesWritten;
      const rest: Buffer[] = [];
      for (const b of bufs) {
        if (skip >= b.length) {
          skip -= b.length;
          continue;
        }
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
      if (bytesWritten === 0 && rest.length > 0) throw new Error('write made no progress');
      bufs = rest;
    }
  }

  /**
   * Starts an fdatasync once another `syncEveryBytes` were written and none is running. Linux keeps
   * up to dirty_background_ratio of RAM dirty before writing back on its own, so without this the
   * whole file would be written back inside the final fsync.
   */
  private maybeStartSync(): void {
    if (this.syncEveryBytes <= 0 || this.backgroundSync) return;
    if (this.position - this.lastSyncAt < this.syncEveryBytes) return;
    this.lastSyncAt = this.position;
    const written = this.inFlight;
    this.backgroundSync = (async () => {
      try {
        await written;
        await this.fh.datasync();
      } catch (err) {
        this.backgroundError ??= err;
      } finally {
        this.backgroundSync = undefined;
      }
    })();
  }

  private throwBackgroundError(): void {
    if (this.backgroundError !== undefined) throw this.backgroundError;
  }
}

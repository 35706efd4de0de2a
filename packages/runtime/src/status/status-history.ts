// The status page's memory: one JSON line per finished job run in stateDir/history.jsonl, kept
// across restarts. Appends are single O_APPEND writes (a crash can only tear the last line, which
// load skips); once the file holds 1.5 × maxEntries lines it is rewritten atomically with the newest
// maxEntries inside the retention window, so it stays bounded however long the daemon runs.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '@trivy-mirror/oci/fs';
import { MirrorError } from '@trivy-mirror/plugin-api';

export const HISTORY_FILE = 'history.jsonl';
export const DEFAULT_RETENTION_MS = 14 * 24 * 3600_000;
export const DEFAULT_MAX_ENTRIES = 3000;
/** Longest line kept; longer ones (huge ages maps) are dropped rather than written. */
const MAX_LINE_BYTES = 1024;

export interface HistoryEntry {
  /** End of the run (ISO). */
  t: string;
  job: string;
  status: 'success' | 'skipped' | 'failure' | 'running';
  ms?: number;
  bytes?: number;
  /** Error code of a failed run. */
  code?: string;
  /** Seconds since UpdatedAt per artifact tag (e.g. "trivy-db:2"), as seen when the run ended. */
  ages?: Record<string, number>;
}

export interface HistoryOptions {
  maxEntries?: number;
  retentionMs?: number;
  now?: () => Date;
}

export class StatusHistory {
  readonly file: string;
  readonly maxEntries: number;
  readonly retentionMs: number;
  readonly #now: () => Date;
  #entries: HistoryEntry[] = [];
  #lines = 0;
  #loading?: Promise<void>;
  #writes: Promise<void> = Promise.resolve();

  constructor(file: string, options: HistoryOptions = {}) {
    this.file = file;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.#now = options.now ?? (() => new Date());
  }

  /** Upper bound of the file's size in bytes. */
  get maxBytes(): number {
    return Math.ceil(this.maxEntries * 1.5) * (MAX_LINE_BYTES + 1);
  }

  /** Reads the file once (memoised); a missing file is an empty history, broken lines are skipped. */
  load(): Promise<void> {
    this.#loading ??= (async () => {
      let text = '';
      try {
        text = await readFile(this.file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
          throw new MirrorError('HISTORY_UNREADABLE', `cannot read ${this.file}`, { cause: err });
      }
      const lines = text.split('\n').filter((l) => l !== '');
      this.#lines = lines.length;
      this.#entries = lines.flatMap((l) => parseLine(l));
      this.#entries = this.#keep(this.#entries);
    })();
    return this.#loading;
  }

  /** Entries (oldest first) that ended within the retention window. */
  entries(): HistoryEntry[] {
    const since = this.#now().getTime() - this.retentionMs;
    return this.#entries.filter((e) => Date.parse(e.t) >= since);
  }

  /** Appends one entry; writes are serialised so lines never interleave. */
  record(entry: HistoryEntry): Promise<void> {
    const line = JSON.stringify(entry);
    const run = async () => {
      await this.load();
      if (Buffer.byteLength(line) > MAX_LINE_BYTES) return;
      this.#entries.push(entry);
      if (this.#entries.length > this.maxEntries * 1.5) this.#entries = this.#keep(this.#entries);
      if (this.#lines + 1 > this.maxEntries * 1.5) {
        await this.#rewrite();
        return;
      }
      await mkdir(dirname(this.file), { recursive: true });
      await appendFile(this.file, `${line}\n`);
      this.#lines++;
    };
    this.#writes = this.#writes.then(run, run);
    return this.#writes.catch((err: unknown) => {
      throw new MirrorError('HISTORY_WRITE_FAILED', `cannot write ${this.file}`, { cause: err });
    });
  }

  #keep(entries: HistoryEntry[]): HistoryEntry[] {
    const since = this.#now().getTime() - this.retentionMs;
    return entries.filter((e) => Date.parse(e.t) >= since).slice(-this.maxEntries);
  }

  /** tmp file, fsync, rename: readers and a crash see the old file or the new one, never half. */
  async #rewrite(): Promise<void> {
    this.#entries = this.#keep(this.#entries);
    const text = this.#entries.map((e) => `${JSON.stringify(e)}\n`).join('');
    await mkdir(dirname(this.file), { recursive: true });
    // its temp name (.NAME.tmp-PID-HEX) is one the start-up temp sweep removes after a crash
    await writeFileAtomic(this.file, text);
    this.#lines = this.#entries.length;
  }
}

function parseLine(line: string): HistoryEntry[] {
  try {
    const e = JSON.parse(line) as HistoryEntry;
    return typeof e?.t === 'string' && typeof e.job === 'string' && Number.isFinite(Date.parse(e.t))
      ? [e]
      : [];
  } catch {
    return []; // a line torn by a crash mid-append
  }
}

// One chokidar watcher per CacheWatch contribution: events are batched for `debounceMs` and handed to
// onChange(), never concurrently for one contribution (changes that arrive meanwhile form one follow-up batch).
import {
  type CacheWatch,
  describeError,
  type Logger,
  MirrorError,
  type WatchChange,
} from '@trivy-mirror/plugin-api';
import { type FSWatcher, watch } from 'chokidar';

const DEFAULT_DEBOUNCE_MS = 300;

class WatchEntry {
  watcher?: FSWatcher;
  pending: WatchChange[] = [];
  /** `event\0path` of what is in `pending`, so large bursts stay linear. */
  pendingKeys = new Set<string>();
  timer?: NodeJS.Timeout;
  running?: Promise<void>;

  constructor(
    readonly contribution: CacheWatch,
    readonly log: Logger,
    readonly signal: AbortSignal,
  ) {}

  push(change: WatchChange): void {
    if (this.signal.aborted) return;
    const key = `${change.event}\0${change.path}`;
    if (!this.pendingKeys.has(key)) {
      this.pendingKeys.add(key);
      this.pending.push(change);
    }
    // The window opens with the first event, so a steady trickle cannot postpone the batch forever.
    if (!this.timer && !this.running) this.#arm();
  }

  #arm(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.contribution.debounceMs ?? DEFAULT_DEBOUNCE_MS);
  }

  flush(): void {
    if (this.running || this.pending.length === 0 || this.signal.aborted) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingKeys = new Set();
    const started = performance.now();
    this.running = (async () => {
      try {
        await this.contribution.onChange(batch, this.signal);
        this.log.debug(
          { watch: this.contribution.id, changes: batch.length, ms: Math.round(performance.now() - started) },
          'watch batch handled',
        );
      } catch (err) {
        this.log.error({ err, watch: this.contribution.id, changes: batch.length }, 'watch handler failed');
      }
    })().finally(() => {
      this.running = undefined;
      if (this.pending.length > 0) this.#arm();
    });
  }
}

export class WatcherService {
  readonly #entries: WatchEntry[] = [];
  #controller = new AbortController();

  constructor(private readonly log: Logger) {}

  /** Starts watching; resolves once every watcher has scanned its paths (so later changes are seen). */
  async start(contributions: CacheWatch[]): Promise<void> {
    this.#controller = new AbortController();
    const ready: Promise<void>[] = [];
    for (const c of contributions) {
      const entry = new WatchEntry(c, this.log, this.#controller.signal);
      let paths: string[];
      try {
        paths = c.paths();
      } catch (err) {
        throw new MirrorError('WATCH_FAILED', `watch ${c.id}: paths() failed: ${describeError(err)}`, {
          cause: err,
        });
      }
      if (paths.length === 0) continue;
      const ignored = c.ignored?.bind(c);
      const watcher = watch(paths, {
        ignoreInitial: true,
        awaitWriteFinish: false,
        persistent: true,
        // A throwing ignored() must not break chokidar's scan: treat the path as watched.
        ignored: ignored
          ? (p: string) => {
              try {
                return ignored(p);
              } catch {
                return false;
              }
            }
          : undefined,
      });
      entry.watcher = watcher;
      watcher.on('all', (event, path) => entry.push({ event: event as WatchChange['event'], path }));
      watcher.on('error', (err) => this.log.warn({ err, watch: c.id }, 'watch error'));
      ready.push(
        new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 10_000);
          watcher.once('ready', () => {
            clearTimeout(t);
            resolve();
          });
        }),
      );
      this.#entries.push(entry);
      this.log.info({ watch: c.id, paths }, 'watching');
    }
    await Promise.all(ready);
  }

  /** Closes watchers, aborts handlers and waits for them up to `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.#controller.abort(new Error('watcher stopping'));
    const entries = this.#entries.splice(0);
    for (const e of entries) clearTimeout(e.timer);
    await Promise.allSettled(entries.map((e) => e.watcher?.close()));
    const running = entries.map((e) => e.running).filter(Boolean);
    if (running.length === 0) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(running), new Promise((r) => (t = setTimeout(r, timeoutMs)))]);
    clearTimeout(t);
  }
}

// After a burst of work (a sync, a population) the daemon may sit idle for hours. A full GC a moment
// after the last job ends gives back the heap pages that work left behind at once, instead of when
// V8's memory reducer gets to it (tens of seconds later, with a CPU spike of its own).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** How long the daemon must stay without running jobs before the collection. */
export const RECLAIM_DELAY_MS = 2_000;

let collect: (() => void) | undefined | null;

/** V8's gc(): the flag makes new contexts carry it; this process's global stays as it was. */
function gcFunction(): (() => void) | undefined {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const fn = runInNewContext('gc') as unknown;
      collect = typeof fn === 'function' ? (fn as () => void) : null;
    } catch {
      collect = null;
    }
  }
  return collect ?? undefined;
}

/**
 * A debounced full collection: `schedule()` after each burst of work; the collection runs once
 * nothing rescheduled it for `delayMs`. The timer never keeps the process alive.
 */
export class MemoryReclaimer {
  #timer?: NodeJS.Timeout;
  #runs = 0;

  constructor(private readonly delayMs = RECLAIM_DELAY_MS) {}

  /** How many collections ran (for tests and /status). */
  get runs(): number {
    return this.#runs;
  }

  schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const gc = gcFunction();
      if (!gc) return;
      gc();
      this.#runs++;
    }, this.delayMs);
    this.#timer.unref();
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

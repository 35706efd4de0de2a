// After a burst of work (a sync, a population) the daemon may sit idle for hours. A compacting full GC
// a moment after the last job ends gives back the heap pages that work left behind at once, instead
// of when V8's memory reducer gets to it (8 s or more later, with a CPU spike of its own).
import { setFlagsFromString } from 'node:v8';
import { v8Gc } from '@trivy-mirror/oci/gc';
import type { Logger } from '@trivy-mirror/plugin-api';
import { youngGenerationGrow, youngGenerationHold } from './young-generation.js';

/** How long the daemon must stay without running jobs before the collection. */
export const RECLAIM_DELAY_MS = 1_000;

/**
 * A debounced full collection: `schedule()` after each burst of work; the collection runs once
 * nothing rescheduled it for `delayMs`. The timer never keeps the process alive.
 */
export class MemoryReclaimer {
  #timer?: NodeJS.Timeout;
  #runs = 0;

  /** `busy`: when it says true at collection time, the collection waits for the next schedule(). */
  constructor(
    private readonly delayMs = RECLAIM_DELAY_MS,
    private readonly busy: () => boolean = () => false,
    private readonly log?: Logger,
  ) {}

  /** How many collections ran (tests). */
  get runs(): number {
    return this.#runs;
  }

  /** Work starts: the young generation may grow to its working size (see young-generation.ts). */
  working(): void {
    this.cancel();
    youngGenerationGrow();
  }

  schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const gc = v8Gc();
      if (!gc || this.busy()) return;
      // A plain full GC frees objects but keeps the fragmented pages they lived on; compacting
      // moves the survivors together so those pages go back to the system (~5-10 MB here).
      const before = process.memoryUsage.rss();
      const started = performance.now();
      // and the young generation stops growing (V8 shrinks it back when it reduces memory)
      youngGenerationHold();
      setFlagsFromString('--compact-on-every-full-gc');
      try {
        gc();
      } finally {
        setFlagsFromString('--no-compact-on-every-full-gc');
      }
      this.#runs++;
      this.log?.debug(
        {
          rssBefore: before,
          rssAfter: process.memoryUsage.rss(),
          ms: Math.round(performance.now() - started),
        },
        'heap compacted after the last job',
      );
    }, this.delayMs);
    this.#timer.unref();
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

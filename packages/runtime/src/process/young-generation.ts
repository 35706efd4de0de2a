// The size of V8's young generation while bulk data streams. Kept at its initial 2 x 1 MiB, every
// short-lived Buffer wrapper of a 1 GB transfer can outlive two scavenges, get promoted, and pin its
// 64 KiB backing store until a full GC: external memory then triggers a full GC every few dozen ms
// and the transfer's CPU doubles. Left to V8, it grows to 2 x 16 MiB and stays there for seconds.
// A few MiB avoid the first and cost a fraction of the second. Only the growth factor can change
// once the heap exists, so growth is allowed and then stopped once the size is reached. Sizes are
// the new space's size as V8 reports it (getHeapSpaceStatistics, new_space.space_size).
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** The size the young generation may reach while work runs. */
export const WORKING_YOUNG_GENERATION_BYTES = 4 * 1024 * 1024;

let observer: PerformanceObserver | undefined;

/** Lets the young generation grow to `maxBytes`, then holds it there. */
export function youngGenerationGrow(maxBytes = WORKING_YOUNG_GENERATION_BYTES): void {
  if (youngGenerationBytes() >= maxBytes) {
    youngGenerationHold();
    return;
  }
  setFlagsFromString('--semi-space-growth-factor=2');
  if (observer) return;
  // checked after each GC: V8 grows the young generation at a scavenge, one doubling at a time
  observer = new PerformanceObserver(() => {
    if (youngGenerationBytes() >= maxBytes) youngGenerationHold();
  });
  observer.observe({ entryTypes: ['gc'] });
}

/** Stops growth: the young generation stays as it is, and shrinks back at V8's next reduction. */
export function youngGenerationHold(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
  observer?.disconnect();
  observer = undefined;
}

/** The young generation's current size. */
export function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

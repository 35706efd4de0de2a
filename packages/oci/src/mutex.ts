// @trivy-mirror/oci/mutex: in-process async locks. One per key (a layout's absolute path, a cache dir
// part) for the whole process; a key's entry is dropped once nobody holds or waits for it.

const tails = new Map<unknown, Promise<void>>();

/** Runs `fn` after every earlier call with the same key has settled. */
export async function withKeyLock<T>(key: unknown, fn: () => Promise<T> | T): Promise<T> {
  const prev = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => {
    release = r;
  });
  const tail = prev.then(() => mine);
  tails.set(key, tail);
  await prev;
  try {
    return await fn();
  } finally {
    release();
    if (tails.get(key) === tail) tails.delete(key);
  }
}

/** A mutex of its own (serialises the calls made through this object). */
export class Mutex {
  readonly #key = Symbol('mutex');

  /** Runs `fn` after every previously queued call has settled. */
  runExclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    return withKeyLock(this.#key, fn);
  }
}

export interface KeyedMutex {
  runExclusive<T>(fn: () => Promise<T> | T): Promise<T>;
}

/** The process-wide mutex of `key` (e.g. a layout's absolute path). */
export function mutexFor(key: string): KeyedMutex {
  return { runExclusive: (fn) => withKeyLock(key, fn) };
}

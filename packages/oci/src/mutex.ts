// A minimal async mutex: serialises writers of one layout's index.json within the process.

export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `fn` after every previously queued call has settled. */
  async runExclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => {
      release = r;
    });
    try {
      await prev;
      return await fn();
    } finally {
      release();
    }
  }
}

const named = new Map<string, Mutex>();

/** One mutex per key for the whole process (e.g. a layout's absolute path). */
export function mutexFor(key: string): Mutex {
  let m = named.get(key);
  if (!m) {
    m = new Mutex();
    named.set(key, m);
  }
  return m;
}

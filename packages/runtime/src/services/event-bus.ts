// In-process event bus: listeners run independently; one that throws or rejects is logged, never the emitter's problem.
import type { EventBus, Logger, MirrorEventName, MirrorEvents } from '@trivy-mirror/plugin-api';

type Listener = (payload: unknown) => void | Promise<void>;

export class InProcessEventBus implements EventBus {
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #pending = new Set<Promise<unknown>>();

  constructor(private readonly log: Logger) {}

  emit<N extends MirrorEventName>(name: N, payload: MirrorEvents[N]): void {
    const listeners = [...(this.#listeners.get(name) ?? [])];
    this.log.debug({ event: name, listeners: listeners.length }, 'event');
    for (const listener of listeners) {
      try {
        const result = listener(payload);
        if (result && typeof (result as Promise<void>).then === 'function') {
          const p = Promise.resolve(result).catch((err) =>
            this.log.error({ err, event: name }, 'event listener failed'),
          );
          this.#pending.add(p);
          void p.finally(() => this.#pending.delete(p));
        }
      } catch (err) {
        this.log.error({ err, event: name }, 'event listener failed');
      }
    }
  }

  on<N extends MirrorEventName>(
    name: N,
    listener: (payload: MirrorEvents[N]) => void | Promise<void>,
  ): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as Listener);
    return () => {
      set.delete(listener as Listener);
    };
  }

  /** Waits for asynchronous listeners still running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  clear(): void {
    this.#listeners.clear();
  }
}

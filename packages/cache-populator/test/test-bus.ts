// An EventBus for the plugin's tests: delivers events like the runtime's and records what was emitted.
import type { EventBus, MirrorEventName, MirrorEvents } from '@trivy-mirror/plugin-api';

export class TestBus implements EventBus {
  readonly emitted: { name: string; payload: unknown }[] = [];
  readonly #listeners = new Map<string, ((p: unknown) => void | Promise<void>)[]>();
  emit<N extends MirrorEventName>(name: N, payload: MirrorEvents[N]): void {
    this.emitted.push({ name, payload });
    for (const l of this.#listeners.get(name) ?? []) void l(payload);
  }
  on<N extends MirrorEventName>(
    name: N,
    listener: (payload: MirrorEvents[N]) => void | Promise<void>,
  ): () => void {
    const list = this.#listeners.get(name) ?? [];
    list.push(listener as (p: unknown) => void);
    this.#listeners.set(name, list);
    return () => list.splice(list.indexOf(listener as (p: unknown) => void), 1);
  }
  count(name: string): number {
    return this.emitted.filter((e) => e.name === name).length;
  }
}

// bcrypt comparisons on a small pool of worker threads with a bounded queue, so that a flood of bad
// logins costs the workers' CPU, not the main thread's: /healthz and logged-in clients keep answering.
// When no worker can start (a single executable without its worker asset), one comparison at a time
// runs on the main thread instead.
import { availableParallelism } from 'node:os';
import * as sea from 'node:sea';
import { Worker } from 'node:worker_threads';
import type { Logger } from '@trivy-mirror/plugin-api';
import bcrypt from 'bcryptjs';
import type { BcryptTask } from './bcrypt-worker.js';

/** The worker's bundled source inside the single executable (tools/package). */
export const BCRYPT_WORKER_ASSET = 'bcrypt-worker.cjs';

export interface BcryptPoolOptions {
  logger: Logger;
  /** Worker threads (default: one less than the CPUs, 1 to 2). */
  size?: number;
  /**
   * Comparisons waiting for a worker beyond which compare() answers 'busy' (default 16: at cost 10,
   * about a second of waiting for a login that is not cached yet).
   */
  maxQueue?: number;
  /** Tests: run on the main thread. */
  inline?: boolean;
}

interface Pending extends BcryptTask {
  resolve(ok: boolean): void;
}

interface Slot {
  worker: Worker;
  task?: Pending;
  /** Has answered a comparison: it loaded. */
  answered?: boolean;
}

export class BcryptPool {
  readonly size: number;
  readonly maxQueue: number;
  readonly #logger: Logger;
  readonly #queue: Pending[] = [];
  #slots: Slot[] = [];
  #inline: boolean;
  #inlineBusy = false;
  #nextId = 1;
  #closed = false;

  constructor(options: BcryptPoolOptions) {
    this.#logger = options.logger;
    this.size = options.size ?? Math.max(1, Math.min(2, availableParallelism() - 1));
    this.maxQueue = options.maxQueue ?? 16;
    this.#inline = options.inline ?? false;
  }

  /** Comparisons waiting for a worker. */
  get queued(): number {
    return this.#queue.length;
  }

  /** True when `password` matches `hash`; 'busy' when the queue is full (nothing was checked). */
  compare(password: string, hash: string): Promise<boolean | 'busy'> {
    if (this.#closed || this.#queue.length >= this.maxQueue) return Promise.resolve('busy');
    return new Promise<boolean>((resolve) => {
      this.#queue.push({ id: this.#nextId++, password, hash, resolve });
      this.#pump();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#queue.splice(0)) p.resolve(false);
    const slots = this.#slots.splice(0);
    for (const s of slots) s.task?.resolve(false);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #pump(): void {
    if (this.#inline) {
      this.#pumpInline();
      return;
    }
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => !s.task);
      if (!slot && this.#slots.length < this.size) slot = this.#spawn();
      if (!slot) return;
      const task = this.#queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage({ id: task.id, password: task.password, hash: task.hash });
    }
  }

  #pumpInline(): void {
    if (this.#inlineBusy) return;
    const task = this.#queue.shift();
    if (!task) return;
    this.#inlineBusy = true;
    bcrypt.compare(task.password, task.hash).then(
      (ok) => this.#finishInline(task, ok),
      () => this.#finishInline(task, false),
    );
  }

  #finishInline(task: Pending, ok: boolean): void {
    this.#inlineBusy = false;
    task.resolve(ok);
    this.#pumpInline();
  }

  #spawn(): Slot | undefined {
    let worker: Worker;
    try {
      worker = sea.isSea()
        ? new Worker(sea.getAsset(BCRYPT_WORKER_ASSET, 'utf8'), { eval: true })
        : new Worker(new URL('./bcrypt-worker.js', import.meta.url));
    } catch (err) {
      this.#logger.warn({ err }, 'bcrypt worker unavailable; checking passwords on the main thread');
      this.#inline = true;
      queueMicrotask(() => this.#pump());
      return undefined;
    }
    const slot: Slot = { worker };
    worker.on('message', (m: { id: number; ok: boolean }) => {
      const task = slot.task;
      if (!task || task.id !== m.id) return;
      slot.task = undefined;
      slot.answered = true;
      worker.unref();
      task.resolve(m.ok === true);
      this.#pump();
    });
    const fail = (err: unknown) => {
      if (!this.#slots.includes(slot)) return;
      this.#slots.splice(this.#slots.indexOf(slot), 1);
      // The check in flight answers "no match": denying a login is the safe side.
      slot.task?.resolve(false);
      slot.task = undefined;
      if (this.#closed) return;
      this.#logger.error({ err }, 'bcrypt worker failed');
      // One that never answered cannot load: do not respawn it for every login.
      if (!slot.answered) this.#inline = true;
      this.#pump();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`bcrypt worker exited with code ${code}`)));
    // An idle worker must not keep a one-shot command alive (after the listeners, which ref it).
    worker.unref();
    this.#slots.push(slot);
    return slot;
  }
}

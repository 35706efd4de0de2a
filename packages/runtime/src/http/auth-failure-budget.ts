// A per-client budget of failed logins on the serving listener (a token bucket per remote address):
// every denied credential spends one, the budget refills steadily, and a client with none left gets
// 429 + Retry-After before any password check runs. Guessing costs the guesser time, not our CPU.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendJson } from './router.js';

/** A refused login is answered this late: a client that loops on refusals waits instead of spinning. */
export const REFUSAL_DELAY_MS = 1000;

export interface AuthFailureBudgetOptions {
  /** Failures a client may have in a row (default 10). */
  burst?: number;
  /** Failures given back per minute (default 10). */
  refillPerMinute?: number;
  /** Clients tracked at most; the least recently failing are forgotten first (default 10,000). */
  maxClients?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** The client's address as the budget's key (`::ffff:10.0.0.1` is 10.0.0.1). */
export function clientKey(req: IncomingMessage): string {
  const a = req.socket?.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export class AuthFailureBudget {
  readonly #burst: number;
  readonly #perMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: AuthFailureBudgetOptions = {}) {
    this.#burst = options.burst ?? 10;
    this.#perMs = (options.refillPerMinute ?? 10) / 60_000;
    this.#max = options.maxClients ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  #tokens(b: Bucket, now: number): number {
    return Math.min(this.#burst, b.tokens + (now - b.at) * this.#perMs);
  }

  /** Seconds until `client` may try again, or undefined while it has budget left. */
  retryAfter(client: string): number | undefined {
    const b = this.#buckets.get(client);
    if (!b) return undefined;
    const tokens = this.#tokens(b, this.#now());
    if (tokens >= 1) return undefined;
    return Math.max(1, Math.ceil((1 - tokens) / this.#perMs / 1000));
  }

  /** One failed login of `client`. */
  spend(client: string): void {
    const now = this.#now();
    const b = this.#buckets.get(client);
    const tokens = (b ? this.#tokens(b, now) : this.#burst) - 1;
    // Re-inserted, so the map's order is least recently failing first.
    this.#buckets.delete(client);
    this.#buckets.set(client, { tokens: Math.max(tokens, -this.#burst), at: now });
    while (this.#buckets.size > this.#max) this.#buckets.delete(this.#buckets.keys().next().value as string);
  }

  get size(): number {
    return this.#buckets.size;
  }
}

/**
 * 429 + Retry-After for a client whose budget is spent (`retryAfter` seconds), or 503 + Retry-After: 1
 * when the password checks are all busy ('busy'); shaped like the distribution spec's errors.
 */
export async function refuseLogin(
  res: ServerResponse,
  retryAfter: number | 'busy',
  delayMs: number,
): Promise<void> {
  if (delayMs > 0) await sleep(delayMs);
  if (res.destroyed) return;
  const busy = retryAfter === 'busy';
  sendJson(
    res,
    busy ? 503 : 429,
    {
      errors: [
        busy
          ? { code: 'UNAVAILABLE', message: 'too many logins being checked; retry' }
          : { code: 'TOOMANYREQUESTS', message: 'too many failed logins from this address' },
      ],
    },
    { 'retry-after': String(busy ? 1 : retryAfter) },
  );
}

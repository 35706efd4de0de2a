// Trying upstream sources in order, as Trivy does: move on after 429, 5xx, BLOB_UNKNOWN or network
// trouble (at once while another source is left; the last one gets the client's retries), and keep
// a per-registry cool-down from Retry-After so later artifacts and runs do not hammer a registry that
// asked us to wait.
import { isFallbackError, isOciError, OciErrorCode } from '@trivy-mirror/oci';
import { describeError, errorCode, MirrorError } from '@trivy-mirror/plugin-api';
import { ROLLBACK_REFUSED } from '../rollback/rollback-guard.js';

/** Used when a registry answers 429 without a usable Retry-After. */
export const DEFAULT_COOLDOWN_MS = 60_000;
/** A Retry-After beyond this (10^9 seconds, a date in 2100) is a broken or hostile answer: capped. */
export const MAX_COOLDOWN_MS = 60 * 60_000;

export class SourceCooldowns {
  private readonly until = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Epoch ms until which `host` should not be asked, or undefined. */
  coolingUntil(host: string): number | undefined {
    const t = this.until.get(host);
    if (t === undefined) return undefined;
    if (t <= this.now()) {
      this.until.delete(host);
      return undefined;
    }
    return t;
  }

  /** Records a failure of `host`; only rate limiting (or an explicit Retry-After) starts a cool-down. */
  note(host: string, err: unknown): void {
    if (!isOciError(err)) return;
    let ms = err.retryAfterMs;
    if (ms === undefined && isOciError(err, OciErrorCode.TOO_MANY_REQUESTS)) ms = DEFAULT_COOLDOWN_MS;
    if (ms === undefined || ms <= 0) return;
    const t = this.now() + Math.min(ms, MAX_COOLDOWN_MS);
    this.until.set(host, Math.max(t, this.until.get(host) ?? 0));
  }

  snapshot(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [host] of this.until) {
      const t = this.coolingUntil(host);
      if (t !== undefined) out[host] = new Date(t).toISOString();
    }
    return out;
  }
}

export interface SourceAttempt {
  source: string;
  host: string;
}

/**
 * Runs `attempt` on each source in order until one succeeds. A failure that is not a fallback
 * error (401, 404, invalid artifact…) stops the walk: another mirror would not fix it, and Trivy
 * would not try either. A rollback refusal (that source lags behind the store) moves on too: another
 * mirror may be current. Throws a MirrorError listing each source's failure when all fail, coded
 * ROLLBACK_REFUSED when one refused a rollback (the operator's decision is what is needed).
 */
export async function trySources<S extends SourceAttempt, T>(
  what: string,
  sources: S[],
  cooldowns: SourceCooldowns,
  attempt: (source: S, position: { last: boolean }) => Promise<T>,
  onFallback?: (source: S, err: unknown) => void,
): Promise<{ source: S; value: T }> {
  const failures: string[] = [];
  let lastErr: unknown;
  let refused: unknown;
  for (const [i, source] of sources.entries()) {
    const cooling = cooldowns.coolingUntil(source.host);
    if (cooling !== undefined) {
      failures.push(
        `${source.source}: skipped, ${source.host} asked to wait until ${new Date(cooling).toISOString()}`,
      );
      continue;
    }
    // the last source worth asking gets the client's retries; the others are left at the first refusal
    const last = !sources.slice(i + 1).some((s) => cooldowns.coolingUntil(s.host) === undefined);
    try {
      return { source, value: await attempt(source, { last }) };
    } catch (err) {
      const rollback = errorCode(err) === ROLLBACK_REFUSED;
      if (!isFallbackError(err) && !rollback) {
        if (failures.length === 0) throw err;
        throw new MirrorError(
          'SOURCES_FAILED',
          `${what}: ${[...failures, `${source.source}: ${describeError(err)}`].join('; ')}`,
          {
            cause: err,
          },
        );
      }
      if (rollback) refused ??= err;
      cooldowns.note(source.host, err);
      // only a fallback when another source follows; the last failure is in the thrown error
      if (i < sources.length - 1) onFallback?.(source, err);
      failures.push(`${source.source}: ${describeError(err)}`);
      lastErr = err;
    }
  }
  if (refused !== undefined && failures.length === 1) throw refused;
  throw new MirrorError(
    refused === undefined ? 'SOURCES_FAILED' : ROLLBACK_REFUSED,
    `${what}: no source succeeded: ${failures.join('; ')}`,
    { cause: refused ?? lastErr },
  );
}

// Remembers which provider last answered for each host, so /status can say where credentials came
// from, and logs lookups that fail (a missing secret file, a broken helper) where operators see them.
import type { RegistryCredential } from '@trivy-mirror/oci';
import type { CredentialProvider, HttpCredential, Logger } from '@trivy-mirror/plugin-api';

export interface UsageRecord {
  provider: string;
  /** The credential's `source` (a description, never a secret). */
  source?: string;
  /** Why the lookup failed (messages name keys, files and helpers, never values). */
  error?: string;
  at: string;
}

export class CredentialUsage {
  readonly #byTarget = new Map<string, UsageRecord>();
  readonly #max: number;

  constructor(max = 200) {
    this.#max = max;
  }

  record(target: string, provider: string, detail: { source?: string; error?: string } = {}): void {
    this.#byTarget.delete(target);
    this.#byTarget.set(target, { provider, ...detail, at: new Date().toISOString() });
    // Bounded: the oldest entry goes first (Map keeps insertion order).
    if (this.#byTarget.size > this.#max) this.#byTarget.delete(this.#byTarget.keys().next().value as string);
  }

  snapshot(): Record<string, UsageRecord> {
    return Object.fromEntries(this.#byTarget);
  }
}

/**
 * Wraps a provider: defined answers are recorded under the host (or URL origin); failures are
 * recorded and logged, then rethrown — a caller that treats a failed lookup as "no credentials"
 * (the registry client does) would otherwise hide the reason.
 */
export function recordingProvider(
  provider: CredentialProvider,
  usage: CredentialUsage,
  logger?: Logger,
): CredentialProvider {
  const wrapped: CredentialProvider = { id: provider.id, order: provider.order };
  const observe = async <T extends { source: string }>(
    target: string,
    lookup: () => Promise<T | undefined>,
  ) => {
    try {
      const found = await lookup();
      if (found) usage.record(target, provider.id, { source: found.source });
      return found;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      usage.record(target, provider.id, { error: message });
      logger?.error({ err, provider: provider.id, target }, 'credential lookup failed');
      throw err;
    }
  };
  if (provider.forRegistry) {
    const forRegistry = provider.forRegistry.bind(provider);
    wrapped.forRegistry = (host: string): Promise<RegistryCredential | undefined> =>
      observe(host, () => forRegistry(host));
  }
  if (provider.forUrl) {
    const forUrl = provider.forUrl.bind(provider);
    wrapped.forUrl = (url: URL): Promise<HttpCredential | undefined> =>
      observe(url.origin, () => forUrl(url));
  }
  return wrapped;
}

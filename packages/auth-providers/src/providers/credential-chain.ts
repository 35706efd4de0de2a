// Asks providers in ascending `order`, first defined answer wins — the same rule as the runtime's
// CredentialStore. Exported for tools and tests that use these providers without the runtime.
import type { CredentialResolver } from '@trivy-mirror/oci';
import type { CredentialProvider, CredentialStore } from '@trivy-mirror/plugin-api';

export function createCredentialStore(providers: readonly CredentialProvider[]): CredentialStore {
  const sorted = [...providers].sort((a, b) => a.order - b.order);
  return {
    async forRegistry(host) {
      for (const p of sorted) {
        const found = await p.forRegistry?.(host);
        if (found) return found;
      }
      return undefined;
    },
    async forUrl(url) {
      const parsed = new URL(url);
      for (const p of sorted) {
        const found = await p.forUrl?.(parsed);
        if (found) return found;
      }
      return undefined;
    },
  };
}

/** A CredentialResolver for `new RegistryClient({ credentials })`. */
export function createCredentialResolver(providers: readonly CredentialProvider[]): CredentialResolver {
  const store = createCredentialStore(providers);
  return (host) => store.forRegistry(host);
}

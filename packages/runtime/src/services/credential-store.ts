// Asks the CredentialProvider contributions in ascending `order`; the first defined answer wins.
import type { CredentialProvider, CredentialStore, HttpCredential, Logger } from '@trivy-mirror/plugin-api';
import type { RegistryCredential } from '@trivy-mirror/oci';

export class ProviderCredentialStore implements CredentialStore {
  /** `providers` is called on every lookup so contributions are read at call time, not at bind time. */
  constructor(
    private readonly providers: () => CredentialProvider[],
    private readonly log: Logger,
  ) {}

  #sorted(): CredentialProvider[] {
    return [...this.providers()].sort((a, b) => a.order - b.order);
  }

  async forRegistry(host: string): Promise<RegistryCredential | undefined> {
    for (const p of this.#sorted()) {
      if (!p.forRegistry) continue;
      try {
        const c = await p.forRegistry(host);
        if (c) {
          this.log.debug({ host, provider: p.id, source: c.source }, 'registry credential found');
          return c;
        }
      } catch (err) {
        this.log.warn({ err, host, provider: p.id }, 'credential provider failed; trying the next');
      }
    }
    return undefined;
  }

  async forUrl(url: string): Promise<HttpCredential | undefined> {
    const parsed = new URL(url);
    for (const p of this.#sorted()) {
      if (!p.forUrl) continue;
      try {
        const c = await p.forUrl(parsed);
        if (c) {
          this.log.debug({ host: parsed.host, provider: p.id, source: c.source }, 'http credential found');
          return c;
        }
      } catch (err) {
        this.log.warn(
          { err, host: parsed.host, provider: p.id },
          'credential provider failed; trying the next',
        );
      }
    }
    return undefined;
  }
}

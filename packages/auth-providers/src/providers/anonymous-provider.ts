// The `anonymous` provider: always answers "no credentials". It exists so that the order is explicit
// and /status can say that a host was served anonymously rather than leave it unexplained.
import type { RegistryCredential } from '@trivy-mirror/oci';
import type { CredentialProvider, HttpCredential } from '@trivy-mirror/plugin-api';
import type { CredentialUsage } from './credential-usage.js';

export class AnonymousProvider implements CredentialProvider {
  readonly id = 'anonymous';
  readonly order: number;
  readonly #usage?: CredentialUsage;

  constructor(order: number, usage?: CredentialUsage) {
    this.order = order;
    this.#usage = usage;
  }

  async forRegistry(host: string): Promise<RegistryCredential | undefined> {
    this.#usage?.record(host, 'anonymous');
    return undefined;
  }

  async forUrl(url: URL): Promise<HttpCredential | undefined> {
    this.#usage?.record(url.origin, 'anonymous');
    return undefined;
  }
}

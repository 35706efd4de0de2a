// Builds the OCI services the container binds: the RegistryClient (configured with `registries:` and
// credentials from the CredentialStore) and the LayoutTransport for the local store.
import type { CredentialStore, Logger } from '@trivy-mirror/plugin-api';
import { type HostOptions, LayoutTransport, type ProxyRouter, RegistryClient } from '@trivy-mirror/oci';

export function createRegistryTransport(options: {
  hosts: HostOptions[];
  credentials: CredentialStore;
  logger: Logger;
  userAgent?: string;
  proxy?: ProxyRouter;
}): RegistryClient {
  return new RegistryClient({
    hosts: options.hosts,
    // Asked per host; the client caches the answer briefly, providers are consulted at call time.
    credentials: (host: string) => options.credentials.forRegistry(host),
    logger: options.logger,
    userAgent: options.userAgent,
    proxy: options.proxy,
  });
}

export function createLayoutTransport(): LayoutTransport {
  return new LayoutTransport();
}

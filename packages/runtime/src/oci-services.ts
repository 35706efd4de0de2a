// Builds the OCI services the container binds: RegistryClient (registries + CredentialStore) and the
// LayoutTransport for the store. Looked up on the module namespace so the runtime keeps working while
// @trivy-mirror/oci is being completed; a missing class yields a transport that fails with a clear error.
import { MirrorError, type CredentialStore, type Logger } from '@trivy-mirror/plugin-api';
import * as oci from '@trivy-mirror/oci';
import type { HostOptions, Transport } from '@trivy-mirror/oci';

type Ctor<T> = new (options?: Record<string, unknown>) => T;

function unavailable(name: string): Transport {
  const fail = async (): Promise<never> => {
    throw new MirrorError('UNAVAILABLE', `@trivy-mirror/oci does not export ${name}`);
  };
  return {
    manifestHead: fail,
    manifestGet: fail,
    manifestPut: fail,
    blobHead: fail,
    blobGet: fail,
    blobPut: fail,
    tagList: fail,
  };
}

export function createRegistryTransport(options: {
  hosts: HostOptions[];
  credentials: CredentialStore;
  logger: Logger;
  userAgent?: string;
}): Transport & { close?(): Promise<void> } {
  const RegistryClient = (oci as Record<string, unknown>).RegistryClient as Ctor<Transport & { close?(): Promise<void> }> | undefined;
  if (typeof RegistryClient !== 'function') return unavailable('RegistryClient');
  return new RegistryClient({
    hosts: options.hosts,
    credentials: (host: string) => options.credentials.forRegistry(host),
    logger: options.logger,
    userAgent: options.userAgent,
  });
}

export function createLayoutTransport(logger: Logger): Transport {
  const LayoutTransport = (oci as Record<string, unknown>).LayoutTransport as Ctor<Transport> | undefined;
  if (typeof LayoutTransport !== 'function') return unavailable('LayoutTransport');
  return new LayoutTransport({ logger });
}

// The network self-check as one call: fresh clients made from the config's hosts, proxy and the given
// credentials (one attempt, no shared backoff: a probe neither waits for nor slows a sync), every
// target probed, the clients closed. `config check --online` / `doctor` and the status page's probe
// (POST /network/probe) both run this, so they print the same lines.
import type { Logger } from '@trivy-mirror/plugin-api';
import {
  type CredentialResolver,
  type HostOptions,
  type ProxyRouter,
  RegistryClient,
} from '@trivy-mirror/oci';
import { UndiciHttpClient } from '../services/http-client.js';
import { type HostProbe, type ProbeTarget, probeNetwork } from './network-probe.js';

export interface SelfCheckOptions {
  /** `registries:` (plainHttp, caFile, insecureSkipVerify, proxy). */
  hosts: readonly HostOptions[];
  proxy: ProxyRouter;
  credentials?: CredentialResolver;
  logger: Logger;
  userAgent?: string;
  /** Per layer (default 10 s). */
  timeoutMs?: number;
}

/** Probes every target (in parallel); the answer is in the order of `targets`. */
export async function networkSelfCheck(
  targets: readonly ProbeTarget[],
  options: SelfCheckOptions,
): Promise<HostProbe[]> {
  const hosts = [...options.hosts];
  const registry = new RegistryClient({
    hosts,
    credentials: options.credentials,
    proxy: options.proxy,
    logger: options.logger,
    userAgent: options.userAgent,
    retry: { attempts: 1 },
  });
  const http = new UndiciHttpClient({
    hosts,
    proxy: options.proxy,
    logger: options.logger,
    userAgent: options.userAgent,
  });
  try {
    return await probeNetwork(targets, {
      registry,
      http,
      hosts,
      route: (url) => http.route(url),
      timeoutMs: options.timeoutMs,
    });
  } finally {
    await Promise.allSettled([registry.close(), http.close()]);
  }
}

// The outbound network settings of a config, made once per config: which forward proxy each host's
// requests take (`proxy:`, `registries[].proxy`, else HTTPS_PROXY/HTTP_PROXY/NO_PROXY) and whether the
// system CA store is trusted (`tls.systemCa`, default true).
import { ProxyRouter, setSystemCaTrust } from '@trivy-mirror/oci';
import type { RuntimeConfig } from '../config/config-schema.js';

type NetworkConfig = Pick<RuntimeConfig, 'proxy' | 'registries' | 'tls'>;

export function proxyRouterFor(config: NetworkConfig, env: NodeJS.ProcessEnv = process.env): ProxyRouter {
  return new ProxyRouter({ settings: config.proxy, hosts: config.registries, env });
}

/** Applies `tls.systemCa` to the process (Node's default CA list is process-wide). */
export function applyTlsTrust(config: NetworkConfig): void {
  setSystemCaTrust(config.tls?.systemCa ?? true);
}

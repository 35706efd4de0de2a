// `config check --online` and `doctor`: the hosts the builtin plugins talk to (oci-sync's sources and
// destinations, vexhub-mirror's repositories), probed layer by layer through the configured proxy and
// trust — the same self-check as the status page's button (POST /network/probe).
import type { HostProbe, LoadedConfig } from '@trivy-mirror/runtime';
import { cliLogger, registryAccess } from './cli-context.js';

/** Probes every target; the answer is one entry per host, in config order. */
export async function onlineCheck(
  configPath: string | undefined,
  loaded: LoadedConfig,
): Promise<HostProbe[]> {
  const { networkSelfCheck, networkTargets } = await import('@trivy-mirror/runtime');
  const logger = await cliLogger({ quiet: true });
  // the config that was checked, also when it is the default path: its proxy, registries and credentials
  const file = configPath ?? (loaded.source === 'defaults' ? undefined : loaded.source);
  const access = await registryAccess(file, [], logger);
  return networkSelfCheck(networkTargets({ ...loaded.config, registries: access.hosts }), {
    hosts: access.hosts,
    credentials: access.credentials,
    proxy: access.proxy,
    logger,
  });
}

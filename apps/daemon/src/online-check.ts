// `config check --online`: the hosts the builtin plugins talk to (oci-sync's sources and destinations,
// vexhub-mirror's repositories), probed layer by layer through the configured proxy and trust.
import type { HostProbe, LoadedConfig, ProbeTarget } from '@trivy-mirror/runtime';
import { cliLogger, registryAccess } from './cli-context.js';

interface SyncSection {
  enabled?: boolean;
  sources?: string[];
  destinations?: string[];
  artifacts?: { sources?: string[] }[];
}
interface VexSection {
  enabled?: boolean;
  repositories?: { url?: string; source?: string }[];
}

/** host[:port] of a repository prefix as references read it (`ghcr.io/aquasecurity` → ghcr.io). */
async function registryOf(prefix: string): Promise<string> {
  const { parseReference } = await import('@trivy-mirror/oci');
  const ref = parseReference(`${prefix}/probe:1`);
  return ref.kind === 'registry' ? ref.registry : prefix.split('/')[0]!;
}

export async function onlineTargets(config: LoadedConfig['config']): Promise<ProbeTarget[]> {
  const plugins = config.plugins as Record<string, unknown>;
  const sync = (plugins['oci-sync'] ?? {}) as SyncSection;
  const vex = (plugins['vexhub-mirror'] ?? {}) as VexSection;
  const targets: ProbeTarget[] = [];
  const seen = new Set<string>();
  const add = (role: string, url: URL, registry: boolean) => {
    const key = `${role} ${registry ? url.host : url.href}`;
    if (seen.has(key)) return;
    seen.add(key);
    targets.push({ role, url, registry });
  };
  if (sync.enabled !== false) {
    const sources = [...(sync.sources ?? []), ...(sync.artifacts ?? []).flatMap((a) => a.sources ?? [])];
    for (const s of sources) add('source', new URL(`https://${await registryOf(s)}`), true);
    for (const d of sync.destinations ?? [])
      add('destination', new URL(`https://${await registryOf(d)}`), true);
  }
  if (vex.enabled !== false) {
    for (const r of vex.repositories ?? [])
      if (r.url && r.source !== 'import') add('vex', new URL(r.url), false);
  }
  return targets;
}

/** Probes every target; prints one line per host. */
export async function onlineCheck(
  configPath: string | undefined,
  loaded: LoadedConfig,
): Promise<HostProbe[]> {
  const { probeNetwork, UndiciHttpClient } = await import('@trivy-mirror/runtime');
  const { RegistryClient, isLoopbackHost } = await import('@trivy-mirror/oci');
  const logger = await cliLogger({ quiet: true });
  const access = await registryAccess(configPath, [], logger);
  const registry = new RegistryClient({
    hosts: access.hosts,
    credentials: access.credentials,
    proxy: access.proxy,
    logger,
    retry: { attempts: 1 },
  });
  const http = new UndiciHttpClient({ hosts: access.hosts, proxy: access.proxy, logger });
  try {
    // registry hosts speak https unless plainHttp or loopback: the probe follows the same rule
    const targets = (await onlineTargets(loaded.config)).map((t) =>
      t.registry
        ? { ...t, url: new URL(`${schemeOf(t.url.host, access.hosts, isLoopbackHost)}://${t.url.host}`) }
        : t,
    );
    return await probeNetwork(targets, {
      registry,
      http,
      hosts: access.hosts,
      route: (url) => http.route(url),
    });
  } finally {
    await Promise.allSettled([registry.close(), http.close()]);
  }
}

function schemeOf(
  host: string,
  hosts: readonly { host: string; plainHttp?: boolean }[],
  loopback: (host: string) => boolean,
): 'http' | 'https' {
  const h = hosts.find((x) => x.host.toLowerCase() === host.toLowerCase());
  return (h?.plainHttp ?? loopback(host)) ? 'http' : 'https';
}

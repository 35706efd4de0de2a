// The hosts the built-in plugins talk to, read from the config: oci-sync's sources and destinations
// (registries) and vexhub-mirror's repositories (URLs). `config check --online`, the status page's
// self-check and /status's `network.hosts` all list these, so they name the same hosts.
import { type HostOptions, isLoopbackHost, parseReference } from '@trivy-mirror/oci';
import type { RuntimeConfig } from '../config/config-schema.js';
import type { ProbeTarget } from './network-probe.js';

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
function registryOf(prefix: string): string {
  try {
    const ref = parseReference(`${prefix}/probe:1`);
    if (ref.kind === 'registry') return ref.registry;
  } catch {
    // not a reference: its first segment is the best guess
  }
  return prefix.split('/')[0]!;
}

/** The scheme the registry client uses for a host: http with plainHttp or on loopback, else https. */
export function registryUrl(host: string, hosts: readonly HostOptions[]): URL {
  const h = hosts.find((x) => x.host.toLowerCase() === host.toLowerCase());
  return new URL(`${(h?.plainHttp ?? isLoopbackHost(host)) ? 'http' : 'https'}://${host}`);
}

/** Every configured host once per role, in config order (disabled plugins and imports left out). */
export function networkTargets(config: Pick<RuntimeConfig, 'plugins' | 'registries'>): ProbeTarget[] {
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
    for (const s of sources) add('source', registryUrl(registryOf(s), config.registries), true);
    for (const d of sync.destinations ?? [])
      add('destination', registryUrl(registryOf(d), config.registries), true);
  }
  if (vex.enabled !== false) {
    for (const r of vex.repositories ?? []) {
      if (!r.url || r.source === 'import') continue;
      try {
        add('vex', new URL(r.url), false);
      } catch {
        // the schema checked it; nothing to probe otherwise
      }
    }
  }
  return targets;
}

// `enabled: false` on any plugin: a builtin's section (`oci-sync: { enabled: false }`) or an external entry
// (`{ module: …, enabled: false }`). A disabled plugin is not loaded (an external module is not even
// imported); /status and `trivy-mirror status` list it as disabled.
import type { RuntimeConfig } from '../config/config-schema.js';

/** A section without the runtime's `enabled` key: what the plugin's module gets. */
export function withoutSwitch(section: unknown): unknown {
  if (!section || typeof section !== 'object' || Array.isArray(section) || !('enabled' in section))
    return section;
  const { enabled: _enabled, ...rest } = section as Record<string, unknown>;
  return rest;
}

export function isSwitchedOff(section: unknown): boolean {
  return !!section && typeof section === 'object' && (section as { enabled?: unknown }).enabled === false;
}

export interface PluginListing {
  id: string;
  /** 'builtin' or the module specifier as written in the config. */
  source: string;
  enabled: boolean;
}

/** Every plugin of the config (builtins first: parsing gives each its section), on or off. */
export function pluginListing(config: RuntimeConfig): PluginListing[] {
  const builtins = Object.keys(config.plugins)
    .filter((id) => id !== 'external')
    .map((id) => ({ id, source: 'builtin', enabled: !isSwitchedOff(config.plugins[id]) }));
  const external = config.plugins.external.map((e) => ({
    id: e.id ?? e.module,
    source: e.module,
    enabled: e.enabled !== false,
  }));
  return [...builtins, ...external];
}

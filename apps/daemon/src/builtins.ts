// The plugins shipped with trivy-mirror, in the order their config sections and contributions appear.
import authProviders from '@trivy-mirror/auth-providers';
import cachePopulator from '@trivy-mirror/cache-populator';
import ociSync from '@trivy-mirror/oci-sync';
import type { PluginDefinition } from '@trivy-mirror/plugin-api';
import vexhubMirror from '@trivy-mirror/vexhub-mirror';

export const builtinPlugins: readonly PluginDefinition<unknown>[] = [
  authProviders as PluginDefinition<unknown>,
  ociSync as PluginDefinition<unknown>,
  // Before cache-populator: `sync` runs jobs in this order, and population wants the VEX copy too.
  vexhubMirror as PluginDefinition<unknown>,
  cachePopulator as PluginDefinition<unknown>,
];

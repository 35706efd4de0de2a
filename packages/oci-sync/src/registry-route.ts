// HttpRoute `/v2/` on the serve listener: the store, read-only, as an OCI registry for Trivy clients.
import { OciLayout } from '@trivy-mirror/oci';
import { createRegistryHandler } from '@trivy-mirror/oci/serve';
import type { ArtifactStore, HttpRoute, Logger } from '@trivy-mirror/plugin-api';
import type { OciSyncConfig } from './config.js';

export function createRegistryRoute(config: OciSyncConfig, store: ArtifactStore, logger: Logger): HttpRoute {
  const handler = createRegistryHandler({
    async resolveLayout(repository) {
      // Only repositories the store lists: a request never opens an arbitrary directory.
      if (!(await store.repositories()).includes(repository)) return undefined;
      try {
        return await OciLayout.open(store.layoutPath(repository));
      } catch {
        return undefined;
      }
    },
    repositories: () => store.repositories(),
    pathPrefix: config.serve.prefix,
    // What the config names but the store does not hold yet (first sync running, or failing) is a 503
    // UNAVAILABLE: Trivy then tries the next repository of its list instead of failing on a 404.
    expected: (repository, tag) =>
      config.artifacts.some((a) => a.name === repository && (tag === undefined || a.tags.includes(tag))),
    onError: (err, req) => logger.error({ err, path: req.url }, 'registry request failed'),
  });
  return {
    id: 'oci-sync-registry',
    listener: 'serve',
    prefix: '/v2/',
    handle: (req, res) => handler(req, res),
  };
}

// HttpRoute `/v2/` on the serve listener: the store, read-only, as an OCI registry for Trivy clients.
// What it finds damaged (a blob that does not hash to its digest, a missing one, a torn index.json) it
// announces as `artifact.damaged` (StoreDamage repairs it); a tag whose version is damaged in a store
// with no upstream is served from the newest complete older version meanwhile.
import { OciLayout } from '@trivy-mirror/oci';
import { createRegistryHandler } from '@trivy-mirror/oci/serve';
import type { ArtifactStore, EventBus, HttpRoute, Logger } from '@trivy-mirror/plugin-api';
import type { OciSyncConfig } from '../config.js';
import type { StoreDamage } from '../store/store-damage.js';

export function createRegistryRoute(
  config: OciSyncConfig,
  store: ArtifactStore,
  logger: Logger,
  damage?: { events: EventBus; store: StoreDamage },
): HttpRoute {
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
    onBlobDamaged: (repository, digest, reason) =>
      damage?.events.emit('artifact.damaged', { repository, digest, reason, reporter: 'serve' }),
    tagFallback: damage ? (repository, tag) => damage.store.fallbackFor(repository, tag) : undefined,
  });
  return {
    id: 'oci-sync-registry',
    listener: 'serve',
    prefix: '/v2/',
    handle: (req, res) => handler(req, res),
  };
}

// HttpRoute `/v2/` on the serve listener: the store, read-only, as an OCI registry for Trivy clients.
// What it finds damaged (a blob that does not hash to its digest, a missing one, a torn index.json) it
// announces as `artifact.damaged` (StoreDamage repairs it); a tag whose version is damaged in a store
// with no upstream is served from the newest complete older version meanwhile.
import { OciLayout } from '@trivy-mirror/oci';
import { createRegistryHandler, HttpFailure } from '@trivy-mirror/oci/serve';
import type { ArtifactStore, EventBus, HttpRoute, Logger } from '@trivy-mirror/plugin-api';
import type { OciSyncConfig } from '../config.js';
import type { ServedTrust } from '../trust/served-trust.js';
import type { StoreDamage } from '../store/store-damage.js';

export function createRegistryRoute(
  config: OciSyncConfig,
  store: ArtifactStore,
  logger: Logger,
  damage?: { events: EventBus; store: StoreDamage },
  trust?: ServedTrust,
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
    tagFallback: (repository, tag) => {
      // trust.require: a tag whose version no trusted key signed is not served (503: Trivy tries the next)
      const refused = trust?.refusedOf(repository, tag);
      if (refused)
        throw new HttpFailure(
          503,
          'UNAVAILABLE',
          `${repository}:${tag} is not signed by a trusted key in the mirror's store (trust.require); not served`,
        );
      return damage?.store.fallbackFor(repository, tag);
    },
  });
  return {
    id: 'oci-sync-registry',
    listener: 'serve',
    prefix: '/v2/',
    handle: (req, res) => handler(req, res),
  };
}

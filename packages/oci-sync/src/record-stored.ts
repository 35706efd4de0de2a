// The status record of a stored version (digests, metadata.json times, checks version), shared by
// the sync from an upstream and the check of an imported store.
import type { ManifestBytes, OciLayout } from '@trivy-mirror/oci';
import type { Logger } from '@trivy-mirror/plugin-api';
import { checksMajorVersion, ruleFor } from './artifact-rules.js';
import { type LayerMetadata, readLayerMetadata } from './layer-metadata.js';
import type { ArtifactTagStatus } from './sync-state.js';

export interface PrefetchedMetadata {
  layerDigest: string;
  meta?: LayerMetadata;
  error?: unknown;
}

/** Fills the status record; metadata.json is read only when the layer is new to us. */
export async function recordStored(
  deps: { now: () => Date; logger: Logger },
  layout: OciLayout,
  status: ArtifactTagStatus,
  current: ManifestBytes,
  source: string,
  changed: boolean,
  prefetched?: PrefetchedMetadata,
): Promise<void> {
  const layer = current.manifest.layers[0];
  const rule = ruleFor(status.artifact);
  const layerChanged = status.layerDigest !== layer.digest;
  status.source = source;
  status.manifestDigest = current.descriptor.digest;
  status.layerDigest = layer.digest;
  status.layerSize = layer.size;
  if (changed || !status.lastChange) status.lastChange = deps.now().toISOString();
  if (rule?.requiresVersion)
    status.version = current.manifest.annotations?.['org.opencontainers.image.version'];
  if (rule?.requiresVersion && status.version === undefined)
    status.version = String(checksMajorVersion(current.manifest));
  if (rule?.hasMetadata && (layerChanged || !status.updatedAt)) {
    try {
      // read during the download when we could; from the store otherwise (or when that failed)
      const early = prefetched?.layerDigest === layer.digest && !prefetched.error ? prefetched : undefined;
      const meta = early ? early.meta : await readLayerMetadata(layout.blobOpen(layer.digest));
      status.updatedAt = meta?.updatedAt;
      status.nextUpdate = meta?.nextUpdate;
      if (!meta)
        deps.logger.warn({ artifact: status.artifact, tag: status.tag }, 'layer has no metadata.json');
    } catch (err) {
      deps.logger.warn(
        { artifact: status.artifact, tag: status.tag, err },
        'cannot read metadata.json from the layer',
      );
    }
  }
}

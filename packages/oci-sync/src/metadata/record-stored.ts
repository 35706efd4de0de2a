// The status record of a stored version (digests, metadata.json times, checks version), shared by
// the sync from an upstream and the check of an imported store.
import type { ManifestBytes, OciLayout } from '@trivy-mirror/oci';
import type { Logger } from '@trivy-mirror/plugin-api';
import { checksMajorVersion, ruleFor } from '../sync/artifact-rules.js';
import { readLayerMetadata } from './layer-metadata.js';
import type { ArtifactTagStatus } from '../sync/sync-state.js';

/**
 * Fills the status record. The layer's metadata.json times belong to the layer: a new layer clears
 * them. With `readMetadata` they are read from the store at once (an imported store); a sync leaves
 * them pending and reads them after the destinations have the manifest (see metadata-follow-up.ts),
 * since metadata.json is the tarball's last entry and reading it inflates the whole layer.
 */
export async function recordStored(
  deps: { now: () => Date; logger: Logger },
  layout: OciLayout,
  status: ArtifactTagStatus,
  current: ManifestBytes,
  source: string,
  changed: boolean,
  options: { readMetadata: boolean },
): Promise<void> {
  const layer = current.manifest.layers[0];
  const rule = ruleFor(status.artifact);
  if (status.layerDigest !== layer.digest) {
    status.updatedAt = undefined;
    status.nextUpdate = undefined;
    status.metadataRead = undefined;
  }
  status.source = source;
  status.manifestDigest = current.descriptor.digest;
  status.layerDigest = layer.digest;
  status.layerSize = layer.size;
  if (changed || !status.lastChange) status.lastChange = deps.now().toISOString();
  // A checks bundle without a version annotation is a custom build to Trivy: no version to show.
  if (rule?.versioned) {
    const major = checksMajorVersion(current.manifest);
    status.version =
      current.manifest.annotations?.['org.opencontainers.image.version'] ??
      (major === undefined ? undefined : String(major));
  }
  if (options.readMetadata && metadataPending(status)) await readStoredMetadata(deps, layout, status);
}

/** True when the stored layer's metadata.json has not been read yet (db and java-db only). */
export function metadataPending(status: ArtifactTagStatus): boolean {
  return (
    Boolean(ruleFor(status.artifact)?.hasMetadata) &&
    status.layerDigest !== undefined &&
    status.updatedAt === undefined &&
    status.metadataRead !== status.layerDigest
  );
}

/**
 * Reads metadata.json of the status's layer from the store into the record. A layer without one is
 * marked read (and warned about) so it is not inflated again; an aborted or failed read stays pending.
 */
export async function readStoredMetadata(
  deps: { logger: Logger },
  layout: OciLayout,
  status: ArtifactTagStatus,
  signal?: AbortSignal,
): Promise<void> {
  const layerDigest = status.layerDigest;
  if (!layerDigest) return;
  const source = layout.blobOpen(layerDigest);
  const onAbort = () => source.destroy(new Error('metadata.json read aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) onAbort();
    const meta = await readLayerMetadata(source);
    // the record may have moved on to another layer while this one was read
    if (status.layerDigest !== layerDigest) return;
    status.updatedAt = meta?.updatedAt;
    status.nextUpdate = meta?.nextUpdate;
    status.metadataRead = layerDigest;
    if (!meta) deps.logger.warn({ artifact: status.artifact, tag: status.tag }, 'layer has no metadata.json');
  } catch (err) {
    if (signal?.aborted) return;
    deps.logger.warn(
      { artifact: status.artifact, tag: status.tag, err },
      'cannot read metadata.json from the layer',
    );
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

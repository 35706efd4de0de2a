// Refuses a database version Trivy would refuse, before the tag moves: Trivy downloads again a db whose
// metadata.json Version is not its schema, and fails with "Trivy version is old" on a newer one. The
// check reads the stored layer once; what it read becomes the record's UpdatedAt/NextUpdate, so the
// metadata follow-up does not inflate the layer a second time.
import type { ManifestBytes, OciLayout } from '@trivy-mirror/oci';
import { ArtifactInvalidError } from '@trivy-mirror/plugin-api';
import { ruleFor } from '../sync/artifact-rules.js';
import { type LayerMetadata, readLayerMetadata } from './layer-metadata.js';

export async function checkLayerVersion(
  layout: OciLayout,
  target: { name: string; tag: string },
  fetched: ManifestBytes,
  reference: string,
): Promise<LayerMetadata | undefined> {
  const rule = ruleFor(target.name);
  const layer = fetched.manifest.layers[0];
  if (!rule?.hasMetadata || rule.schemaVersion === undefined || !layer) return undefined;
  let meta: LayerMetadata | undefined;
  try {
    meta = await readLayerMetadata(layout.blobOpen(layer.digest));
  } catch (err) {
    // Trivy could not unpack it either.
    throw new ArtifactInvalidError(
      `${reference}: layer ${layer.digest} is not a readable tar.gz with a metadata.json ` +
        `(${(err as Error).message}); refused, the stored version stays served`,
      err,
    );
  }
  // A layer without metadata.json is warned about by the follow-up, as before.
  if (meta && meta.version !== rule.schemaVersion) {
    throw new ArtifactInvalidError(
      `${reference}: metadata.json has Version ${meta.version ?? 'missing'}, but Trivy expects ` +
        `${rule.schemaVersion} for ${target.name}; refused, the stored version stays served`,
    );
  }
  return meta;
}

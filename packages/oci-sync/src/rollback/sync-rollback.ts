// The rollback guard of a sync, before the tag moves: a new upstream db or java-db whose UpdatedAt is
// older than the served one's is refused (ROLLBACK_REFUSED) unless the artifact has allowRollback
// (`trivy-mirror sync --allow-rollback` sets it for one run). A refusal is remembered per source, so
// the next run refuses the same upstream manifest after one HEAD instead of downloading it again.
import type { ManifestBytes, OciLayout } from '@trivy-mirror/oci';
import type { Logger } from '@trivy-mirror/plugin-api';
import { ruleFor } from '../sync/artifact-rules.js';
import { type LayerMetadata, readLayerMetadata } from '../metadata/layer-metadata.js';
import { describeRollback, type Rollback, RollbackRefusedError, rollbackOf } from './rollback-guard.js';
import type { ArtifactTagStatus, RefusedRollback } from '../sync/sync-state.js';

export interface SyncRollbackCheck {
  name: string;
  tag: string;
  /** The source reference the new version came from. */
  source: string;
  allowRollback: boolean;
  logger: Logger;
}

/** metadata.json UpdatedAt of the served version: the status record's when it is that layer's. */
async function servedUpdatedAt(
  layout: OciLayout,
  status: ArtifactTagStatus,
  served: ManifestBytes,
): Promise<string | undefined> {
  const layer = served.manifest.layers[0];
  if (!layer) return undefined;
  if (status.layerDigest === layer.digest && status.metadataRead === layer.digest) return status.updatedAt;
  const meta = await readLayerMetadata(layout.blobOpen(layer.digest)).catch(() => undefined);
  return meta?.updatedAt;
}

/**
 * Throws RollbackRefusedError when `incoming` (its metadata.json read by the version check) is older
 * than `served`; logs a warning when the artifact allows it. Returns what a refusal records.
 */
export async function checkSyncRollback(
  check: SyncRollbackCheck,
  layout: OciLayout,
  status: ArtifactTagStatus,
  served: ManifestBytes | undefined,
  incoming: { digest: string; metadata?: LayerMetadata },
): Promise<void> {
  if (!served || !ruleFor(check.name)?.hasMetadata || !incoming.metadata?.updatedAt) return;
  const rollback = rollbackOf(
    { digest: served.descriptor.digest, updatedAt: await servedUpdatedAt(layout, status, served) },
    { digest: incoming.digest, updatedAt: incoming.metadata.updatedAt },
    { storedAtOrder: false },
  );
  if (!rollback) return;
  const line = describeRollback(`${check.name}:${check.tag}`, rollback, check.source);
  if (check.allowRollback) {
    check.logger.warn(
      { served: rollback.served, incoming: rollback.incoming },
      `rollback allowed (allowRollback): ${line}`,
    );
    return;
  }
  throw refusal(check, rollback);
}

/** The refusal again, from what a previous run recorded, when upstream still tags that manifest. */
export function rememberedRefusal(
  check: SyncRollbackCheck,
  refused: RefusedRollback | undefined,
  upstreamDigest: string,
  served: ManifestBytes | undefined,
): RollbackRefusedError | undefined {
  if (check.allowRollback || !refused || !served) return undefined;
  if (refused.manifestDigest !== upstreamDigest || refused.servedDigest !== served.descriptor.digest)
    return undefined;
  return refusal(check, {
    served: { digest: refused.servedDigest, updatedAt: refused.servedUpdatedAt },
    incoming: { digest: refused.manifestDigest, updatedAt: refused.updatedAt },
    by: 'UpdatedAt',
  });
}

/** The record a refusal leaves in the source's sync state. */
export function refusedRecord(err: RollbackRefusedError): RefusedRollback | undefined {
  const r = err.rollbacks[0]?.rollback;
  if (!r?.incoming.updatedAt || !r.served.updatedAt) return undefined;
  return {
    manifestDigest: r.incoming.digest,
    updatedAt: r.incoming.updatedAt,
    servedDigest: r.served.digest,
    servedUpdatedAt: r.served.updatedAt,
  };
}

function refusal(check: SyncRollbackCheck, rollback: Rollback): RollbackRefusedError {
  const what = `${check.name}:${check.tag}`;
  return new RollbackRefusedError(
    `${what}: rollback refused: ${check.source}@${rollback.incoming.digest} has UpdatedAt ` +
      `${rollback.incoming.updatedAt}, older than the served ${rollback.served.digest} (UpdatedAt ` +
      `${rollback.served.updatedAt}); the store keeps serving ${rollback.served.digest}. To take the older ` +
      `version: \`trivy-mirror sync --allow-rollback\`, or allowRollback: true on ${check.name} in ` +
      'plugins.oci-sync.artifacts',
    [{ what, rollback }],
  );
}

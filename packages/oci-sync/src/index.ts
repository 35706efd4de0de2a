// @trivy-mirror/oci-sync: upstream registries → local OCI layout store → destination registries,
// plus the embedded read-only registry. Default export: the plugin definition.
import { definePlugin } from '@trivy-mirror/plugin-api';
import { exampleConfig, type OciSyncConfig, ociSyncConfigSchema } from './config.js';
import { ociSyncModule } from './oci-sync-module.js';

export { ARTIFACT_RULES, checksMajorVersion, ruleFor, validateTrivyArtifact } from './artifact-rules.js';
export type { ArtifactTagResult, DestinationResult } from './artifact-sync.js';
export { renderClientConfig } from './client-config.js';
export {
  type ArtifactConfig,
  DEFAULT_ARTIFACTS,
  DEFAULT_SCHEDULE,
  DEFAULT_SOURCES,
  type OciSyncConfig,
  ociSyncConfigSchema,
} from './config.js';
export {
  describeImportRollbacks,
  findImportRollbacks,
  type ImportRollback,
  importRollbackError,
} from './import-rollback.js';
export { checkImportTrust, importTrustError, TRUST_REFUSED, type TrustPolicy } from './import-trust.js';
export { type LayerMetadata, readLayerMetadata } from './layer-metadata.js';
export { OciSyncJobService, ociSyncModule } from './oci-sync-module.js';
export { createRegistryRoute } from './registry-route.js';
export {
  MANIFEST_KINDS,
  type PublishLayout,
  type PublishReport,
  type PublishRepositoryReport,
  publishRegistryTree,
} from './registry-tree.js';
export { RegistryTreePublisher } from './registry-tree-publisher.js';
export { ROLLBACK_REFUSED, RollbackRefusedError, rollbackOf } from './rollback-guard.js';
export { DEFAULT_COOLDOWN_MS, SourceCooldowns, trySources } from './source-fallback.js';
export {
  applyImport,
  exportStore,
  findLayouts,
  type ImportOptions,
  importStore,
  type PlannedImport,
  planImport,
  type TransferReport,
} from './store-transfer.js';
export { type Freshness, freshnessOf } from './store-freshness.js';
export { listStore, type StoredVersion } from './store-inventory.js';
export { type PruneOptions, type PruneRepositoryReport, planPrune, pruneStore } from './store-prune.js';
export { storeTrust } from './store-trust.js';
export { type StoreFault, type StoreVerifyReport, verifyStore } from './store-verify.js';
export {
  IMPORTED_AT_ANNOTATION,
  IMPORTED_FROM_ANNOTATION,
  planTagUpdate,
  STORED_AT_ANNOTATION,
  TAG_ANNOTATION,
  versionsOf,
} from './store-versions.js';
export { OciSyncHealth } from './sync-health.js';
export { describeTrust, type VersionTrust, versionTrust } from './version-trust.js';
export { type PlannedArtifact, type PlannedPush, planSync } from './sync-plan.js';
export { OCI_SYNC_JOB_ID, OciSyncJob } from './sync-job.js';
export { SyncMetrics } from './sync-metrics.js';
export type { ArtifactTagStatus } from './sync-state.js';

export default definePlugin<OciSyncConfig>({
  id: 'oci-sync',
  description:
    'Syncs trivy-db, trivy-java-db and trivy-checks from upstream registries into the store and on to destinations; serves the store under /v2/.',
  configSchema: ociSyncConfigSchema,
  exampleConfig,
  idleReason: (config) => (config.artifacts.length === 0 ? 'no artifacts' : undefined),
  module: ociSyncModule,
});

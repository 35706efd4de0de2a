// @trivy-mirror/oci-sync: upstream registries → local OCI layout store → destination registries,
// plus the embedded read-only registry. Default export: the plugin definition.
import { definePlugin } from '@trivy-mirror/plugin-api';
import { exampleConfig, type OciSyncConfig, ociSyncConfigSchema } from './config.js';
import { ociSyncModule } from './oci-sync-module.js';

export { ARTIFACT_RULES, checksMajorVersion, ruleFor, validateTrivyArtifact } from './sync/artifact-rules.js';
export type { ArtifactTagResult, DestinationResult } from './sync/artifact-sync-types.js';
export { renderClientConfig } from './client-config/client-config.js';
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
} from './rollback/import-rollback.js';
export { checkImportTrust, importTrustError, TRUST_REFUSED, type TrustPolicy } from './trust/import-trust.js';
export { type LayerMetadata, readLayerMetadata } from './metadata/layer-metadata.js';
export { OciSyncJobService, ociSyncModule } from './oci-sync-module.js';
export { createRegistryRoute } from './serve/registry-route.js';
export {
  MANIFEST_KINDS,
  type PublishLayout,
  type PublishReport,
  type PublishRepositoryReport,
  publishRegistryTree,
} from './serve/registry-tree.js';
export { RegistryTreePublisher } from './serve/registry-tree-publisher.js';
export { ROLLBACK_REFUSED, RollbackRefusedError, rollbackOf } from './rollback/rollback-guard.js';
export { DEFAULT_COOLDOWN_MS, SourceCooldowns, trySources } from './sync/source-fallback.js';
export {
  applyImport,
  exportStore,
  findLayouts,
  type ImportOptions,
  importStore,
  type PlannedImport,
  planImport,
  type TransferReport,
} from './store-commands/store-transfer.js';
export { type Freshness, freshnessOf } from './metadata/store-freshness.js';
export { listStore, type StoredVersion } from './store-commands/store-inventory.js';
export {
  type PruneOptions,
  type PruneRepositoryReport,
  planPrune,
  pruneStore,
} from './store-commands/store-prune.js';
export { storeTrust } from './trust/store-trust.js';
export { type StoreFault, type StoreVerifyReport, verifyStore } from './store-commands/store-verify.js';
export {
  IMPORTED_AT_ANNOTATION,
  IMPORTED_FROM_ANNOTATION,
  planTagUpdate,
  STORED_AT_ANNOTATION,
  TAG_ANNOTATION,
  versionsOf,
} from './store/store-versions.js';
export { OciSyncHealth } from './sync/sync-health.js';
export { describeTrust, type VersionTrust, versionTrust } from './trust/version-trust.js';
export { type PlannedArtifact, type PlannedPush, planSync } from './sync/sync-plan.js';
export { OCI_SYNC_JOB_ID, OciSyncJob } from './sync/sync-job.js';
export { SyncMetrics } from './sync/sync-metrics.js';
export type { ArtifactTagStatus } from './sync/sync-state.js';

export default definePlugin<OciSyncConfig>({
  id: 'oci-sync',
  description:
    'Syncs trivy-db, trivy-java-db and trivy-checks from upstream registries into the store and on to destinations; serves the store under /v2/.',
  configSchema: ociSyncConfigSchema,
  exampleConfig,
  idleReason: (config) => (config.artifacts.length === 0 ? 'no artifacts' : undefined),
  module: ociSyncModule,
});

// @trivy-mirror/cache-populator: keeps Trivy cache directories populated from the local store.
// Default export: the plugin. Named exports: the populate core for `trivy-mirror populate`.
import { definePlugin } from '@trivy-mirror/plugin-api';
import { cachePopulatorModule } from './cache-populator-module.js';
import { type CachePopulatorConfig, CachePopulatorConfigSchema } from './config-schema.js';

export {
  type OpenedArtifact,
  type PopulateSource,
  checkArtifactShape,
  newestNumericTag,
  openArtifact,
} from './populate/artifact-source.js';
export { CachePopulator, cachePopulatorModule } from './cache-populator-module.js';
export { CacheHealth } from './daemon/cache-health.js';
export { CacheLifecycle } from './daemon/cache-lifecycle.js';
export { CacheRepair } from './daemon/cache-repair.js';
export { CachePopulatorService } from './cache-populator-service.js';
export {
  type CachePopulatorDeps,
  CachePopulatorState,
  JOB_ID,
  OLD_VERSION_GRACE_MS,
} from './daemon/cache-state.js';
export { FreshnessCheck } from './daemon/freshness-check.js';
export { PopulateJob } from './daemon/populate-job.js';
export { TargetPopulator } from './daemon/target-populator.js';
export {
  CACHE_PARTS,
  type CachePart,
  type CachePopulatorConfig,
  CachePopulatorConfigSchema,
  type CacheTarget,
  TargetSchema,
} from './config-schema.js';
export { assertFreeSpace, unpackedEstimate } from './disk/free-space.js';
export { type OwnerSpec, type ResolvedOwner, resolveOwner } from './disk/file-owner.js';
export { type Integrity, type PartState, checkIntegrity, readPartState } from './disk/part-state.js';
export { PART_SPECS, type PartSpec, partForRepository } from './populate/part-specs.js';
export {
  DEFAULT_MAX_UNPACKED_BYTES,
  type PartResult,
  type PopulateOptions,
  type PopulateResult,
  populateCacheDir,
  tagFor,
} from './populate/populate-cache-dir.js';
export { type PopulateLogger, silentLogger } from './populate/populate-logger.js';
export { extractTarGz, safeEntryPath } from './disk/safe-extract.js';
export {
  type ChecksMetadata,
  type DbMetadata,
  type NeedsUpdateVerdict,
  checksMajorVersion,
  checksMetadata,
  checksNeedsUpdate,
  dbMetadataWithDownloadedAt,
  dbNeedsUpdate,
  formatGoTime,
  parseGoTime,
} from './populate/trivy-metadata.js';
export { cleanupCacheDir, STAGING_PREFIX, STATE_DIR } from './disk/version-swap.js';
export { type VexInput, vexLocationUrl } from './populate/vex-populate.js';

export default definePlugin<CachePopulatorConfig>({
  id: 'cache-populator',
  description:
    'Populates Trivy cache directories (db, java-db, checks, VEX) from the local store, atomically; repairs them',
  configSchema: CachePopulatorConfigSchema,
  exampleConfig: [
    'cache-populator:',
    '  targets:',
    '    - dir: /var/cache/trivy           # what clients pass as --cache-dir',
    '      include: [db, java-db, checks, vex]',
    '      checksTag: "2"                  # "1" for Trivy releases before checks bundle v2',
    '      # user: trivy                   # owner of what is written (needs root and that user)',
    '      mode: "0644"',
    '      staleGraceMinutes: 60           # NextUpdate + this: stale -> sync requested, /readyz 503',
    '  checkIntervalSeconds: 60',
  ].join('\n'),
  idleReason: (config) => (config.targets.length === 0 ? 'no targets' : undefined),
  module: cachePopulatorModule,
});

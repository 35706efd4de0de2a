// @trivy-mirror/vexhub-mirror: mirrors VEX repositories (VEX Hub by default), validates them, rewrites the
// manifest's location to this mirror and serves both; optional publishDir for nginx.
import { definePlugin } from '@trivy-mirror/plugin-api';
import { EXAMPLE_CONFIG, type VexhubMirrorConfig, vexhubMirrorConfigSchema } from './config.js';
import { PLUGIN_ID, vexhubMirrorModule } from './vexhub-mirror-module.js';

export {
  clientRepositoryUrl,
  REPOSITORY_YAML_FALLBACK_PATH,
  REPOSITORY_YAML_PATH,
  type RepositoryYamlOptions,
  renderRepositoryYaml,
  vexClientConfig,
} from './client-config.js';
export {
  DEFAULT_REPOSITORY_URL,
  DEFAULT_SCHEDULE,
  type RepositoryConfig,
  repositoryConfigSchema,
  type VexhubMirrorConfig,
  vexhubMirrorConfigSchema,
} from './config.js';
export {
  type ArchiveLocation,
  type ArchiveType,
  parseLocation,
  splitSubdir,
} from './upstream/location-url.js';
export { repositoryKind, resolveSource } from './upstream/source-resolver.js';
export { type UnpackedExportedVex, unpackExportedVex } from './transfer/exported-vex.js';
export { checkIndex } from './versions/vex-index.js';
export { parseManifest, rewriteManifest, SPEC_VERSION } from './versions/vex-manifest.js';
export {
  EXPORT_DIR as VEX_EXPORT_DIR,
  type ExportedVersion,
  exportedVexNames,
  type VexExportReport,
} from './transfer/vex-export.js';
export {
  VEX_DIGEST_LIST,
  VEX_DIGEST_LIST_SIGNATURE,
  type VerifiedVexDigestList,
  type VexDigestListReport,
  verifyVexDigestList,
  vexDigestList,
  writeVexDigestList,
} from './transfer/vex-digest-list.js';
export type { AppliedVexImport, PlannedVexImport } from './transfer/vex-import.js';
export { VexMirror } from './vex-mirror.js';
export type { PublishedVersion } from './versions/version-store.js';
export { JOB_ID, PLUGIN_ID, VexMirrorService, vexhubMirrorModule } from './vexhub-mirror-module.js';

export default definePlugin<VexhubMirrorConfig>({
  id: PLUGIN_ID,
  description:
    'Mirrors VEX repositories (VEX Hub): validated archives, rewritten manifests, served over HTTP',
  configSchema: vexhubMirrorConfigSchema,
  exampleConfig: EXAMPLE_CONFIG,
  idleReason: (config) => (config.repositories.length === 0 ? 'no repositories' : undefined),
  module: vexhubMirrorModule,
});

// VEX repositories of an `export` output (OUT/vex/NAME) for a cache dir without a daemon: `trivy-mirror
// populate --from-store OUT`. Each goes through the checks of an import (size and sha256 against
// version.json, manifest, unpacking with the default limits, index.json) into `workDir`; the caller
// hands the result to the cache-populator's 'vex' part and removes `workDir` after.
import path from 'node:path';
import { ArchiveInvalidError } from '@trivy-mirror/plugin-api';
import { writeFileAtomic } from '../versions/atomic-file.js';
import { repositoryConfigSchema } from '../config.js';
import { UPSTREAM_MANIFEST_FILE, VersionStore } from '../versions/version-store.js';
import { EXPORT_DIR } from './vex-export.js';
import { planVexImport } from './vex-import.js';

export interface UnpackedExportedVex {
  repository: string;
  /** The folder holding index.json. */
  contentDir: string;
  /** The upstream manifest, as `trivy vex repo download` would have fetched it. */
  manifestPath: string;
  /** sha256 of the archive, the ETag the mirror serves it with. */
  etag: string;
  /** index.json's updated_at. */
  updatedAt: string;
  packages: number;
}

/**
 * Checks and unpacks the VEX repositories `names` of export `inDir` into `workDir`. Throws an
 * ArchiveInvalidError naming every bad file (what it unpacked is removed then).
 */
export async function unpackExportedVex(
  inDir: string,
  names: string[],
  workDir: string,
): Promise<UnpackedExportedVex[]> {
  const targets = names.map((name) => {
    const config = repositoryConfigSchema.safeParse({ name, source: 'import' });
    if (!config.success)
      throw new ArchiveInvalidError(
        `${path.join(inDir, EXPORT_DIR, name)}: not a VEX repository name (expected lowercase, such as vexhub)`,
      );
    return { config: config.data, store: new VersionStore(workDir, name) };
  });
  const plan = await planVexImport(inDir, targets, `VEX of export ${inDir}`);
  const out: UnpackedExportedVex[] = [];
  for (const s of plan.staged) {
    const manifestPath = path.join(s.staging, UPSTREAM_MANIFEST_FILE);
    await writeFileAtomic(manifestPath, s.manifest.bytes);
    out.push({
      repository: s.target.config.name,
      contentDir: path.join(s.staging, 'content'),
      manifestPath,
      etag: `sha256:${s.exported.version}`,
      updatedAt: s.updatedAt,
      packages: s.packages,
    });
  }
  return out;
}

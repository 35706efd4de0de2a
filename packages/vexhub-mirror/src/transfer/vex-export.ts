// The VEX half of `trivy-mirror export`: each repository's served version goes to
// OUT/vex/NAME/ as the archive (byte-identical), the upstream vex-repository.json and version.json
// (what `import` checks: sha256 and size of the archive, folder, index time). version.json is
// written last, so a half-written export never names an archive that is not all there.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { copyFileAtomic, writeFileAtomic } from '../versions/atomic-file.js';
import { archiveFileName, type PublishedVersion, type VersionStore } from '../versions/version-store.js';

export const EXPORT_DIR = 'vex';
export const EXPORT_VERSION_FILE = 'version.json';
export const EXPORT_MANIFEST_FILE = 'vex-repository.json';
export const EXPORT_FORMAT = 'trivy-mirror.vex/v1';

/** OUT/vex/NAME/version.json. */
export interface ExportedVersion {
  format: typeof EXPORT_FORMAT;
  repository: string;
  /** sha256 (hex) of the archive. */
  version: string;
  archiveType: PublishedVersion['archiveType'];
  archiveSize: number;
  subdir: string;
  updatedAt: string;
  packages: number;
  /** Where the connected side got it: the configured URL, the manifest's and the archive's. */
  sourceUrl: string;
  manifestUrl: string;
  archiveUrl: string;
  fetchedAt: string;
  exportedAt: string;
}

export interface VexExportReport {
  repository: string;
  version: string;
  bytesCopied: number;
}

export async function sha256File(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Writes the current version of `store` to OUT/vex/NAME (kept when the same version is there). */
export async function exportVexVersion(
  store: VersionStore,
  published: PublishedVersion,
  outDir: string,
  now: Date,
): Promise<VexExportReport> {
  const dir = path.join(outDir, EXPORT_DIR, store.repository);
  const archive = path.join(dir, archiveFileName(published.archiveType));
  const versionFile = path.join(dir, EXPORT_VERSION_FILE);
  const previous = await readFile(versionFile, 'utf8')
    .then((t) => JSON.parse(t) as Partial<ExportedVersion>)
    .catch(() => undefined);
  const size = await stat(archive).then(
    (s) => s.size,
    () => -1,
  );
  let bytesCopied = 0;
  if (previous?.version !== published.version || size !== published.archiveSize) {
    await copyFileAtomic(store.archivePath(published), archive);
    bytesCopied = published.archiveSize;
  }
  await copyFileAtomic(store.upstreamManifestPath(published.version), path.join(dir, EXPORT_MANIFEST_FILE));
  const record: ExportedVersion = {
    format: EXPORT_FORMAT,
    repository: store.repository,
    version: published.version,
    archiveType: published.archiveType,
    archiveSize: published.archiveSize,
    subdir: published.subdir,
    updatedAt: published.updatedAt,
    packages: published.packages,
    sourceUrl: published.sourceUrl,
    manifestUrl: published.manifestUrl,
    archiveUrl: published.archiveUrl,
    fetchedAt: published.fetchedAt,
    exportedAt: now.toISOString(),
  };
  await writeFileAtomic(versionFile, `${JSON.stringify(record, null, 2)}\n`);
  return { repository: store.repository, version: published.version, bytesCopied };
}

/** Names of the VEX repositories in export `inDir` (none when it has no vex/ folder). */
export async function exportedVexNames(inDir: string): Promise<string[]> {
  const entries = await readdir(path.join(inDir, EXPORT_DIR), { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

// Turning a downloaded or imported archive into a version folder: unpack it with the limits, find
// the folder holding index.json, check the index the way Trivy reads it, write the upstream and the
// rewritten manifests, and move the folder into versions/<sha256>. Nothing here is served until
// the caller swaps current.json.
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ArchiveLimits } from '../archives/archive-tree.js';
import { writeFileAtomic } from './atomic-file.js';
import type { ArchiveType } from '../upstream/location-url.js';
import { extractTarGz } from '../archives/tar-reader.js';
import { checkIndex, type IndexSummary } from './vex-index.js';
import { type RepositoryManifest, rewriteManifest } from './vex-manifest.js';
import { MANIFEST_FILE, UPSTREAM_MANIFEST_FILE, type VersionStore } from './version-store.js';
import { extractZip } from '../archives/zip-reader.js';

export interface StagedContent {
  /** Folder inside the archive that holds index.json ('' = root). */
  subdir: string;
  summary: IndexSummary;
  unpackedBytes: number;
}

/** Unpacks `archiveFile` into `staging/content` (the folder with index.json) and validates it. */
export async function stageContent(
  staging: string,
  archiveFile: string,
  type: ArchiveType,
  subdirHint: string | undefined,
  limits: ArchiveLimits,
  signal?: AbortSignal,
): Promise<StagedContent> {
  const treeDir = path.join(staging, 'tree');
  const tree =
    type === 'zip'
      ? await extractZip(archiveFile, treeDir, limits, signal)
      : await extractTarGz(archiveFile, treeDir, limits, signal);
  const subdir = tree.resolveSubdir(subdirHint);
  const contentSrc = subdir === '' ? treeDir : path.join(treeDir, ...subdir.split('/'));
  const summary = await checkIndex(contentSrc, tree, subdir);
  await rename(contentSrc, path.join(staging, 'content'));
  await rm(treeDir, { recursive: true, force: true });
  return { subdir, summary, unpackedBytes: tree.unpackedBytes };
}

/** Writes both manifests into `staging` and moves it to versions/<version> (not yet current). */
export async function commitStaged(
  store: VersionStore,
  staging: string,
  version: string,
  manifest: { parsed: RepositoryManifest; bytes: Buffer },
  location: string,
): Promise<void> {
  await writeFileAtomic(path.join(staging, UPSTREAM_MANIFEST_FILE), manifest.bytes);
  await writeFileAtomic(path.join(staging, MANIFEST_FILE), rewriteManifest(manifest.parsed, location));
  await store.commitVersion(staging, version);
}

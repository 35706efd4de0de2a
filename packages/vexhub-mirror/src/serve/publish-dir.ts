// Writes what the HTTP routes serve into a static folder (nginx): archive first, then manifests, each atomically.
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { copyFileAtomic, writeFileAtomic } from '../versions/atomic-file.js';
import type { ArchiveType } from '../upstream/location-url.js';
import { archiveFileName } from '../versions/version-store.js';

export interface PublishItem {
  repository: string;
  /** The first configured repository is also served at /.well-known/vex-repository.json. */
  isDefault: boolean;
  archivePath: string;
  archiveType: ArchiveType;
  /** The rewritten manifest whose location points at the publish dir's URL. */
  manifest: Buffer;
}

export function publishPaths(publishDir: string, pathPrefix: string, repository: string, type: ArchiveType) {
  return {
    archive: path.join(
      publishDir,
      ...pathPrefix.split('/').filter(Boolean),
      repository,
      archiveFileName(type),
    ),
    manifest: path.join(publishDir, repository, '.well-known', 'vex-repository.json'),
    defaultManifest: path.join(publishDir, '.well-known', 'vex-repository.json'),
  };
}

/** True when the published archive is missing or differs in size (someone cleaned the folder). */
export async function publishNeeded(
  publishDir: string,
  pathPrefix: string,
  item: PublishItem,
): Promise<boolean> {
  const p = publishPaths(publishDir, pathPrefix, item.repository, item.archiveType);
  try {
    const [a, b] = await Promise.all([stat(p.archive), stat(item.archivePath)]);
    await stat(p.manifest);
    if (item.isDefault) await stat(p.defaultManifest);
    return a.size !== b.size;
  } catch {
    return true;
  }
}

export async function publishToDir(publishDir: string, pathPrefix: string, item: PublishItem): Promise<void> {
  const p = publishPaths(publishDir, pathPrefix, item.repository, item.archiveType);
  // The archive lands before a manifest points at it.
  await copyFileAtomic(item.archivePath, p.archive);
  await writeFileAtomic(p.manifest, item.manifest);
  if (item.isDefault) await writeFileAtomic(p.defaultManifest, item.manifest);
  // A switch between zip and tar.gz leaves the other file behind: remove it once nothing points at it.
  const other = publishPaths(
    publishDir,
    pathPrefix,
    item.repository,
    item.archiveType === 'zip' ? 'tar.gz' : 'zip',
  );
  await rm(other.archive, { force: true });
}

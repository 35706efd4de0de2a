// The 'vex' part: `vex/repositories/<name>/` laid out as `trivy vex repo download` leaves it
// (trivy pkg/vex/repo): vex-repository.json (the manifest, never refreshed by Trivy), cache.json
// {"UpdatedAt","ETags":{<location url>: <etag>}} and `0.1/` holding the archive's subdir with index.json.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, writeNewFile } from '@trivy-mirror/oci/fs';
import { ArchiveInvalidError, MirrorError } from '@trivy-mirror/plugin-api';
import { ensureDir } from '../disk/durable-fs.js';
import { applyTree } from '../disk/file-owner.js';
import { checkIntegrity, readPartState, writePartState } from '../disk/part-state.js';
import type { PopulateContext } from './populate-context.js';
import { formatGoTime, parseGoTime } from './trivy-metadata.js';
import { commitVersion, createStaging, discardStaging } from '../disk/version-swap.js';

/** What a `vex.stored` event carries (a subset), enough to write one repository. */
export interface VexInput {
  /** Repository name as in Trivy's repository.yaml (e.g. 'vexhub'). */
  repository: string;
  /** The extracted folder that holds index.json. */
  contentDir: string;
  /** The manifest as served by the mirror (its locations point at the mirror). */
  manifestPath: string;
  /** ETag of the archive as the mirror serves it (Trivy sends it back as If-None-Match). */
  etag: string;
}

/** Trivy joins the name onto the cache dir: keep it to one plain path segment. */
export function assertVexName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes('..')) {
    throw new MirrorError('CONFIG_INVALID', `VEX repository name "${name}" is not a plain directory name`);
  }
}

interface VexManifest {
  versions?: { spec_version?: string; locations?: { url?: string }[] }[] | Record<string, unknown>;
}

/** The first location of spec version 0.1: the URL Trivy downloads and keys its ETag by. */
export function vexLocationUrl(manifest: VexManifest): string | undefined {
  const versions = Array.isArray(manifest.versions)
    ? manifest.versions
    : (Object.values(manifest.versions ?? {}) as { spec_version?: string; locations?: { url?: string }[] }[]);
  return versions.find((v) => v?.spec_version === '0.1')?.locations?.[0]?.url;
}

async function copyTree(
  from: string,
  to: string,
  fileMode: number,
  dirMode: number,
  signal?: AbortSignal,
): Promise<number> {
  let bytes = 0;
  await ensureDir(to, dirMode);
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    signal?.throwIfAborted();
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) {
      bytes += await copyTree(src, dst, fileMode, dirMode, signal);
    } else if (entry.isFile()) {
      await fs.copyFile(src, dst, fs.constants.COPYFILE_EXCL);
      const fh = await fs.open(dst, 'r+');
      try {
        await fh.chmod(fileMode);
        await fh.sync();
        bytes += (await fh.stat()).size;
      } finally {
        await fh.close();
      }
    } else {
      throw new ArchiveInvalidError(`VEX content ${src} is not a regular file or directory`);
    }
  }
  await fsyncDir(to);
  return bytes;
}

async function treeBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    bytes += entry.isDirectory() ? await treeBytes(p) : (await fs.stat(p)).size;
  }
  return bytes;
}

export async function populateVexRepository(r: PopulateContext, vex: VexInput) {
  assertVexName(vex.repository);
  const key = `vex-${vex.repository}`;
  const linkPath = `vex/repositories/${vex.repository}`;
  const manifestBytes = await fs.readFile(vex.manifestPath);
  let manifest: VexManifest;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as VexManifest;
  } catch (err) {
    throw new ArchiveInvalidError(`VEX manifest ${vex.manifestPath} is not valid JSON`, err);
  }
  await fs.stat(path.join(vex.contentDir, 'index.json')).catch((err: unknown) => {
    throw new ArchiveInvalidError(`VEX content ${vex.contentDir} has no index.json`, err);
  });
  const manifestDigest = `sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`;
  const base = {
    part: 'vex' as const,
    key,
    repository: vex.repository,
    manifestDigest,
    repaired: undefined as string | undefined,
  };

  const previous = await readPartState(r.cacheDir, key);
  if (
    !r.force &&
    previous &&
    previous.vexEtag === vex.etag &&
    previous.vexManifestDigest === manifestDigest
  ) {
    const integrity = await checkIntegrity(r.cacheDir, previous);
    if (integrity.ok) return { ...base, status: 'unchanged' as const, version: previous.version, bytes: 0 };
    r.logger.warn(
      { cacheDir: r.cacheDir, part: key, reason: integrity.reason },
      'cache part damaged; repopulating',
    );
    base.repaired = integrity.reason;
  }

  // what would be written: the content tree and the manifest (cache.json is a few bytes)
  if (r.dryRun)
    return {
      ...base,
      status: 'planned' as const,
      bytes: (await treeBytes(vex.contentDir)) + manifestBytes.length,
    };

  const staging = await createStaging(r.cacheDir, key, r.dirMode);
  try {
    let bytes = await copyTree(vex.contentDir, path.join(staging, '0.1'), r.mode, r.dirMode, r.signal);
    await writeNewFile(path.join(staging, 'vex-repository.json'), manifestBytes, r.mode);
    // A repair of the same archive keeps its UpdatedAt (Trivy's next update check stays where it was).
    const same = previous?.vexEtag === vex.etag && previous.vexManifestDigest === manifestDigest;
    const now = (same && parseGoTime(previous.metadata.UpdatedAt)) || r.now();
    const url = vexLocationUrl(manifest);
    if (!url) r.logger.warn({ manifest: vex.manifestPath }, 'VEX manifest has no spec_version 0.1 location');
    const cache = { UpdatedAt: formatGoTime(now), ETags: url ? { [url]: vex.etag } : {} };
    const cacheText = `${JSON.stringify(cache)}\n`;
    await writeNewFile(path.join(staging, 'cache.json'), cacheText, r.mode);
    bytes += manifestBytes.length + cacheText.length;
    await applyTree(staging, r.owner, { file: r.mode, dir: r.dirMode });
    await fsyncDir(staging);
    const commit = await commitVersion({
      cacheDir: r.cacheDir,
      staging,
      key,
      linkPath,
      owner: r.owner,
      dirMode: r.dirMode,
      logger: r.logger,
    });
    await writePartState(r.cacheDir, {
      part: 'vex',
      key,
      linkPath,
      version: commit.version,
      populatedAt: r.now().toISOString(),
      repository: vex.repository,
      vexEtag: vex.etag,
      vexManifestDigest: manifestDigest,
      files: {},
      metadata: cache,
    });
    r.logger.info(
      { cacheDir: r.cacheDir, part: key, version: commit.version, bytes },
      'cache part populated',
    );
    return { ...base, status: 'populated' as const, version: commit.version, bytes };
  } catch (err) {
    await discardStaging(staging);
    throw err;
  }
}

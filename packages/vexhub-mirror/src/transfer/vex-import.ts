// The VEX half of `trivy-mirror import`, and how a daemon takes up what was imported. A version from
// OUT/vex/NAME/ goes through the same checks as a download (size and sha256 against version.json,
// manifest, unpacking with the limits, index.json) into a staged version folder; only when every
// part of the export passed does the caller apply it: the folder moves into versions/ and
// current.json is swapped, as after a download. Readers see the old or the new version, never a mix.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ArchiveInvalidError, describeError, MirrorError } from '@trivy-mirror/plugin-api';
import { copyFileAtomic, writeFileAtomic } from '../versions/atomic-file.js';
import type { RepositoryConfig } from '../config.js';
import { formatLocation } from '../upstream/location-url.js';
import { type MirrorResult, servedArchiveUrl } from '../upstream/mirror-repository.js';
import {
  EXPORT_DIR,
  EXPORT_FORMAT,
  EXPORT_MANIFEST_FILE,
  EXPORT_VERSION_FILE,
  type ExportedVersion,
  exportedVexNames,
  sha256File,
} from './vex-export.js';
import { parseManifest, type RepositoryManifest, rewriteManifest } from '../versions/vex-manifest.js';
import { commitStaged, stageContent } from '../versions/version-staging.js';
import { describeVexRollback, isVexRollback } from '../versions/vex-rollback.js';
import { archiveFileName, type PublishedVersion, type VersionStore } from '../versions/version-store.js';

export interface ImportTarget {
  config: RepositoryConfig;
  store: VersionStore;
}

export interface StagedImport {
  target: ImportTarget;
  staging: string;
  exported: ExportedVersion;
  subdir: string;
  packages: number;
  updatedAt: string;
  manifest: { parsed: RepositoryManifest; bytes: Buffer };
}

export interface PlannedVexImport {
  inDir: string;
  staged: StagedImport[];
  /** Repositories in the export that this config does not name (not imported). */
  skipped: string[];
}

/** Where clients reach the mirror, for the rewritten manifest. */
export interface ServeBase {
  baseUrl: string | undefined;
  pathPrefix: string;
}

/**
 * Checks every OUT/vex/NAME of the export and stages the ones `targets` name. Throws an
 * ArchiveInvalidError naming each bad file (staged folders are removed then); changes nothing served.
 */
export async function planVexImport(
  inDir: string,
  targets: ImportTarget[],
  /** What the error says was refused. */
  what = `import of ${inDir}`,
): Promise<PlannedVexImport> {
  const root = path.join(inDir, EXPORT_DIR);
  const names = await exportedVexNames(inDir);
  const plan: PlannedVexImport = { inDir, staged: [], skipped: [] };
  const problems: string[] = [];
  for (const name of names) {
    const target = targets.find((t) => t.config.name === name);
    if (!target) {
      plan.skipped.push(name);
      continue;
    }
    try {
      plan.staged.push(await stageOne(path.join(root, name), target));
    } catch (err) {
      problems.push(describeError(err));
    }
  }
  if (problems.length > 0) {
    await discardVexImport(plan);
    throw new ArchiveInvalidError(`${what} refused, nothing changed: ${problems.join('; ')}`);
  }
  return plan;
}

async function stageOne(dir: string, target: ImportTarget): Promise<StagedImport> {
  const repo = target.config;
  const versionFile = path.join(dir, EXPORT_VERSION_FILE);
  let exported: ExportedVersion;
  try {
    exported = JSON.parse(await readFile(versionFile, 'utf8')) as ExportedVersion;
  } catch (err) {
    throw new ArchiveInvalidError(`${versionFile}: cannot be read as JSON`, err);
  }
  if (
    exported.format !== EXPORT_FORMAT ||
    exported.repository !== repo.name ||
    !/^[a-f0-9]{64}$/.test(String(exported.version)) ||
    (exported.archiveType !== 'zip' && exported.archiveType !== 'tar.gz') ||
    !Number.isSafeInteger(exported.archiveSize)
  ) {
    throw new ArchiveInvalidError(`${versionFile}: not a ${EXPORT_FORMAT} record of repository ${repo.name}`);
  }
  const archive = path.join(dir, archiveFileName(exported.archiveType));
  const actual = await sha256File(archive).catch((err: unknown) => {
    throw new ArchiveInvalidError(`${archive}: missing or unreadable`, err);
  });
  if (actual.size !== exported.archiveSize)
    throw new ArchiveInvalidError(
      `${archive}: ${actual.size} bytes, expected ${exported.archiveSize} (truncated or damaged)`,
    );
  if (actual.sha256 !== exported.version)
    throw new ArchiveInvalidError(
      `${archive}: content hashes to sha256:${actual.sha256}, expected sha256:${exported.version} (tampered or damaged)`,
    );
  if (actual.size > repo.maxArchiveBytes)
    throw new ArchiveInvalidError(`${archive}: larger than maxArchiveBytes (${repo.maxArchiveBytes})`);
  const manifestFile = path.join(dir, EXPORT_MANIFEST_FILE);
  const bytes = await readFile(manifestFile).catch((err: unknown) => {
    throw new ArchiveInvalidError(`${manifestFile}: missing or unreadable`, err);
  });
  const parsed = parseManifest(bytes.toString('utf8'), manifestFile).manifest;
  // what imports killed earlier left (a live one's staging stays)
  await target.store.cleanTemp();
  const staging = await target.store.stagingDir();
  try {
    const staged = path.join(staging, archiveFileName(exported.archiveType));
    await copyFileAtomic(archive, staged);
    const limits = { maxEntries: repo.maxEntries, maxUnpackedBytes: repo.maxUnpackedBytes };
    const content = await stageContent(
      staging,
      staged,
      exported.archiveType,
      exported.subdir || undefined,
      limits,
    );
    return {
      target,
      staging,
      exported,
      subdir: content.subdir,
      packages: content.summary.packages,
      updatedAt: content.summary.updatedAt,
      manifest: { parsed, bytes },
    };
  } catch (err) {
    await target.store.stagingRemove(staging);
    throw new ArchiveInvalidError(`${archive}: ${describeError(err)}`, err);
  }
}

/** Removes staged folders of a plan that will not be applied. */
export async function discardVexImport(plan: PlannedVexImport): Promise<void> {
  for (const s of plan.staged) await s.target.store.stagingRemove(s.staging);
}

export interface AppliedVexImport {
  imported: PublishedVersion[];
}

/**
 * What applying `plan` would roll back: one line per repository whose served index is newer
 * (updated_at) than the export's. The caller refuses the whole import on any (no silent rollback).
 */
export async function findVexRollbacks(plan: PlannedVexImport): Promise<string[]> {
  const out: string[] = [];
  for (const s of plan.staged) {
    const served = await s.target.store.current();
    const incoming = { version: s.exported.version, updatedAt: s.updatedAt };
    if (served && isVexRollback(served, incoming))
      out.push(`vex ${s.target.config.name}: the export's ${describeVexRollback(served, incoming)}`);
  }
  return out;
}

/**
 * Makes every staged version the current one (same swap as after a download). The caller has
 * refused a plan that would roll a repository back (findVexRollbacks) unless the operator allowed it.
 */
export async function applyVexImport(
  plan: PlannedVexImport,
  serve: ServeBase,
  now: Date,
  options: { graceMs: number },
): Promise<AppliedVexImport> {
  const at = now.toISOString();
  const importedFrom = path.resolve(plan.inDir);
  const out: AppliedVexImport = { imported: [] };
  for (const s of plan.staged) {
    const { store, config } = s.target;
    const { exported } = s;
    const served = await store.current();
    // The connected side's upstream URLs: without a public URL the manifest keeps pointing there, as
    // on the connected side (the cache dirs still get the content).
    const exportedFile = (file: string) => `file://${path.join(importedFrom, EXPORT_DIR, config.name, file)}`;
    const archiveUrl = exported.archiveUrl ?? exportedFile(archiveFileName(exported.archiveType));
    const servedUrl = servedArchiveUrl(serve.baseUrl, serve.pathPrefix, config.name, {
      url: archiveUrl,
      type: exported.archiveType,
    });
    const location = formatLocation(servedUrl, s.subdir);
    await commitStaged(store, s.staging, exported.version, s.manifest, location);
    const current = served;
    const next: PublishedVersion = {
      repository: config.name,
      version: exported.version,
      archiveType: exported.archiveType,
      archiveSize: exported.archiveSize,
      subdir: s.subdir,
      sourceUrl: exported.sourceUrl,
      manifestUrl: exported.manifestUrl ?? exportedFile(EXPORT_MANIFEST_FILE),
      archiveUrl,
      updatedAt: s.updatedAt,
      packages: s.packages,
      fetchedAt: exported.fetchedAt,
      publishedAt: at,
      location,
      validators: {},
      importedAt: at,
      importedFrom,
      previous:
        current && current.version !== exported.version
          ? { version: current.version, retiredAt: at }
          : current?.previous,
    };
    await store.setCurrent(next);
    await store.gc(next, options.graceMs, now);
    out.imported.push(next);
  }
  return out;
}

/**
 * A daemon's run for a `source: import` repository: no network. Takes what current.json names
 * (written by an import), re-rewriting the manifest when the public URL changed.
 */
export async function takeImported(target: ImportTarget, serve: ServeBase, now: Date): Promise<MirrorResult> {
  const { store, config } = target;
  // an import may be staging here right now: only what dead processes left goes
  await store.cleanTemp();
  const current = await store.current();
  if (!current) {
    throw new MirrorError(
      'NOT_IMPORTED',
      `vex repository ${config.name} holds no version: it has source: import, so it comes only from \`trivy-mirror import DIR\``,
    );
  }
  const served = servedArchiveUrl(serve.baseUrl, serve.pathPrefix, config.name, {
    url: current.archiveUrl,
    type: current.archiveType,
  });
  const location = formatLocation(served, current.subdir);
  if (location === current.location) return { changed: false, published: current, bytes: 0 };
  const upstream = parseManifest(
    await readFile(store.upstreamManifestPath(current.version), 'utf8'),
    config.name,
  );
  await writeFileAtomic(store.manifestPath(current.version), rewriteManifest(upstream.manifest, location));
  const next: PublishedVersion = { ...current, location, publishedAt: now.toISOString() };
  await store.setCurrent(next);
  return { changed: true, published: next, bytes: 0 };
}

// Air-gap transfer of the store: `export` copies every layout (one per repository) into a tree that
// is itself a set of OCI layouts; `import` verifies such a tree completely before it changes
// anything, then copies it in. Blobs are verified by digest while copied, index.json goes last.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { Annotation, type Descriptor, MANIFEST_MAX_BYTES, OciLayout } from '@trivy-mirror/oci';
import { ArchiveInvalidError, MirrorError } from '@trivy-mirror/plugin-api';
import { hashFile } from '../store/file-digest.js';
import { mergeImported } from './import-merge.js';
import {
  describeImportRollbacks,
  findImportRollbacks,
  importRollbackError,
} from '../rollback/import-rollback.js';
import { touchVersions } from '../store/version-blobs.js';
import type { LayoutPlan, PlannedImport } from './planned-import.js';

export type { PlannedImport } from './planned-import.js';

export interface TransferRepositoryReport {
  repository: string;
  manifests: number;
  blobs: number;
  blobsCopied: number;
  bytesCopied: number;
}

export interface TransferReport {
  repositories: TransferRepositoryReport[];
}

const NAME_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** Copies every layout under `storeRoot` to `outDir/<repository>` (idempotent: present blobs are kept). */
export async function exportStore(options: { storeRoot: string; outDir: string }): Promise<TransferReport> {
  const repositories = await findLayouts(options.storeRoot);
  const report: TransferReport = { repositories: [] };
  for (const repository of repositories) {
    const src = await OciLayout.open(join(options.storeRoot, repository));
    const plan = await planLayout(src, repository, false);
    if (plan.problems.length > 0) {
      throw new ArchiveInvalidError(`export of ${repository} refused: ${plan.problems.join('; ')}`);
    }
    const dst = await OciLayout.open(join(options.outDir, repository), { create: true });
    report.repositories.push(await copyLayout(src, dst, plan, () => plan.manifests));
    // the export is read by other tools (skopeo, an import): layouts only, no write folders
    await dst.cleanTemp({ removeDir: true });
  }
  return report;
}

export interface ImportOptions {
  storeRoot: string;
  inDir: string;
  /** Versions kept per tag (the imported one included); older ones are dropped. Default 3. */
  keepVersions?: number;
  /**
   * Also import versions older than the served ones (db/java-db: metadata.json UpdatedAt, otherwise
   * the connected side's stored-at). Without it such an import is refused before anything is copied.
   */
  allowRollback?: boolean;
  /** Blobs no version references any more stay this long (downloads running in a daemon). Default 30 min. */
  blobGraceMs?: number;
  now?: () => Date;
}

/** A verified export tree, ready to be copied in (see planImport). */
/**
 * Verifies every layout under `inDir` (all blobs its tagged versions reference present, sizes and
 * sha256 digests right, manifests parse) without changing anything. A tree that fails any check is
 * refused with an ArchiveInvalidError naming each problem and the file it is in.
 */
export async function planImport(inDir: string): Promise<PlannedImport> {
  const repositories = await findLayouts(inDir);
  if (repositories.length === 0) {
    throw new ArchiveInvalidError(`${inDir}: no OCI layouts found (expected <repository>/oci-layout)`);
  }
  const problems: string[] = [];
  const layouts: PlannedImport['layouts'] = [];
  for (const repository of repositories) {
    try {
      const src = await OciLayout.open(join(inDir, repository));
      const plan = await planLayout(src, repository, true);
      problems.push(...plan.problems);
      layouts.push({ repository, src, plan });
    } catch (err) {
      problems.push(`${repository}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new ArchiveInvalidError(`import of ${inDir} refused, nothing changed: ${problems.join('; ')}`);
  }
  return { inDir, layouts };
}

/**
 * Copies a verified tree into `storeRoot`: blobs first, then per layout one index.json swap in
 * which each imported tag becomes the current version (annotated with the import time and
 * directory) and older versions stay as history up to keepVersions. A reader of the store sees the
 * old or the new version of a tag, never a mix. A tree that would roll a tag back is refused first
 * (RollbackRefusedError, ROLLBACK_REFUSED) unless `allowRollback`.
 */
export async function applyImport(planned: PlannedImport, options: ImportOptions): Promise<TransferReport> {
  if (!options.allowRollback) {
    const rollbacks = await findImportRollbacks(planned, options.storeRoot);
    if (rollbacks.length > 0)
      throw importRollbackError(planned.inDir, describeImportRollbacks(rollbacks), rollbacks);
  }
  const now = (options.now ?? (() => new Date()))();
  const importedFrom = resolve(planned.inDir);
  const report: TransferReport = { repositories: [] };
  for (const { repository, src, plan } of planned.layouts) {
    const dst = await OciLayout.open(join(options.storeRoot, repository), { create: true });
    let dropped: Descriptor[] = [];
    const copied = await copyLayout(src, dst, plan, (existing) => {
      const merged = mergeImported(existing, plan.manifests, {
        keepVersions: options.keepVersions ?? 3,
        importedAt: now.toISOString(),
        importedFrom,
      });
      dropped = merged.dropped;
      return merged.manifests;
    });
    report.repositories.push(copied);
    if (dropped.length > 0) await touchVersions(dst, dropped);
    await dst.gc({ graceMs: options.blobGraceMs ?? 30 * 60_000 });
  }
  return report;
}

/** planImport, then applyImport: a bad tree changes nothing. */
export async function importStore(options: ImportOptions): Promise<TransferReport> {
  return applyImport(await planImport(options.inDir), options);
}

/**
 * Walks index.json → manifests → config/layers. For an import (`forImport`), only the tagged
 * versions are taken and every blob they reference is hashed; problems name the file.
 */
async function planLayout(layout: OciLayout, repository: string, forImport: boolean): Promise<LayoutPlan> {
  if (!NAME_RE.test(repository)) {
    return {
      repository,
      manifests: [],
      blobs: new Map(),
      problems: [`${repository}: not a valid repository name`],
    };
  }
  const index = await layout.index();
  const manifests = forImport
    ? index.manifests.filter((m) => m.annotations?.[Annotation.RefName] !== undefined)
    : index.manifests;
  const plan: LayoutPlan = { repository, manifests, blobs: new Map(), problems: [] };
  if (forImport && manifests.length === 0)
    plan.problems.push(`${join(layout.dir, 'index.json')}: no tagged version`);
  const visit = async (desc: Descriptor, depth: number, parent?: string): Promise<void> => {
    if (!DIGEST_RE.test(desc.digest) || !Number.isSafeInteger(desc.size) || desc.size < 0) {
      plan.problems.push(`${repository}: blob ${desc.digest}: invalid descriptor`);
      return;
    }
    const path = layout.blobPath(desc.digest);
    const where = `${repository}: blob ${desc.digest} (${path})`;
    if (plan.blobs.has(desc.digest)) return;
    plan.blobs.set(desc.digest, desc);
    const isManifest = /manifest|index/.test(desc.mediaType) && depth < 3;
    if (!isManifest && !forImport) return;
    let actual: { digest: string; size: number } | undefined;
    try {
      actual = await hashFile(path);
    } catch {
      plan.problems.push(
        `${where}: missing (${parent ? `referenced by manifest ${parent}` : 'listed in index.json'})`,
      );
      return;
    }
    if (actual.size !== desc.size)
      plan.problems.push(`${where}: ${actual.size} bytes, expected ${desc.size} (truncated or damaged)`);
    else if (actual.digest !== desc.digest)
      plan.problems.push(`${where}: content hashes to ${actual.digest} (tampered or damaged)`);
    if (!isManifest || actual.digest !== desc.digest) return;
    if (desc.size > MANIFEST_MAX_BYTES) {
      plan.problems.push(`${where}: manifest larger than ${MANIFEST_MAX_BYTES} bytes`);
      return;
    }
    let parsed: { config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] };
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch {
      plan.problems.push(`${where}: manifest is not JSON`);
      return;
    }
    const children = [
      ...(parsed.config ? [parsed.config] : []),
      ...(parsed.layers ?? []),
      ...(parsed.manifests ?? []),
    ];
    for (const child of children) await visit(child, depth + 1, desc.digest);
  };
  for (const m of manifests) await visit(m, 0);
  return plan;
}

async function copyLayout(
  src: OciLayout,
  dst: OciLayout,
  plan: LayoutPlan,
  manifests: (existing: Descriptor[]) => Descriptor[],
): Promise<TransferRepositoryReport> {
  const report: TransferRepositoryReport = {
    repository: plan.repository,
    manifests: plan.manifests.length,
    blobs: plan.blobs.size,
    blobsCopied: 0,
    bytesCopied: 0,
  };
  // Blobs first (each verified while written, atomically), index.json last: a reader of the
  // target never sees an index that points at a missing or partial blob.
  for (const desc of plan.blobs.values()) {
    if (await dst.blobHas(desc.digest)) continue;
    await dst.blobWrite(desc, src.blobOpen(desc.digest));
    report.blobsCopied++;
    report.bytesCopied += desc.size;
  }
  await dst.indexUpdate((existing) => manifests(existing));
  return report;
}

/** Repository names of the layouts under `root` (directories holding an `oci-layout` file). */
export async function findLayouts(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (depth === 0)
        throw new MirrorError('STORE_MISSING', `${root}: cannot read directory`, { cause: err });
      return;
    }
    if (entries.some((e) => e.isFile() && e.name === 'oci-layout')) {
      out.push(relative(root, dir).split(sep).join('/'));
      return;
    }
    if (depth >= 4) return;
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith('.')) await walk(join(dir, e.name), depth + 1);
    }
  };
  await walk(root, 0);
  return out.filter((r) => r !== '').sort();
}

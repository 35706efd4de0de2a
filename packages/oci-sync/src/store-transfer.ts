// Air-gap transfer of the store: `export` copies every layout (one per repository) into a tree that
// is itself a set of OCI layouts; `import` verifies such a tree completely before it changes
// anything, then copies it in. Blobs are verified by digest while copied, index.json goes last.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Annotation, type Descriptor, MANIFEST_MAX_BYTES, OciLayout } from '@trivy-mirror/oci';
import { ArchiveInvalidError, MirrorError } from '@trivy-mirror/plugin-api';
import { hashFile } from './file-digest.js';
import { TAG_ANNOTATION } from './store-versions.js';

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
  }
  return report;
}

/**
 * Verifies every layout under `inDir` (all referenced blobs present, sizes and sha256 digests
 * right, manifests parse), and only then copies them into `storeRoot`. A tree that fails any
 * check is refused with an ArchiveInvalidError naming each problem, and the store is untouched.
 * Imported tags win; a store version they replace stays as untagged history.
 */
export async function importStore(options: { storeRoot: string; inDir: string }): Promise<TransferReport> {
  const repositories = await findLayouts(options.inDir);
  if (repositories.length === 0) {
    throw new ArchiveInvalidError(
      `${options.inDir}: no OCI layouts found (expected <repository>/oci-layout)`,
    );
  }
  const problems: string[] = [];
  const plans: { repository: string; src: OciLayout; plan: LayoutPlan }[] = [];
  for (const repository of repositories) {
    try {
      const src = await OciLayout.open(join(options.inDir, repository));
      const plan = await planLayout(src, repository, true);
      problems.push(...plan.problems);
      plans.push({ repository, src, plan });
    } catch (err) {
      problems.push(`${repository}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new ArchiveInvalidError(
      `import of ${options.inDir} refused, nothing changed: ${problems.join('; ')}`,
    );
  }
  const report: TransferReport = { repositories: [] };
  for (const { repository, src, plan } of plans) {
    const dst = await OciLayout.open(join(options.storeRoot, repository), { create: true });
    report.repositories.push(
      await copyLayout(src, dst, plan, (existing) => mergeIndex(existing, plan.manifests)),
    );
  }
  return report;
}

interface LayoutPlan {
  repository: string;
  manifests: Descriptor[];
  /** Every blob reachable from index.json, by digest. */
  blobs: Map<string, Descriptor>;
  problems: string[];
}

/** Walks index.json → manifests → config/layers. With `verifyAll`, hashes every blob. */
async function planLayout(layout: OciLayout, repository: string, verifyAll: boolean): Promise<LayoutPlan> {
  if (!NAME_RE.test(repository)) {
    return {
      repository,
      manifests: [],
      blobs: new Map(),
      problems: [`${repository}: not a valid repository name`],
    };
  }
  const index = await layout.index();
  const plan: LayoutPlan = { repository, manifests: index.manifests, blobs: new Map(), problems: [] };
  const visit = async (desc: Descriptor, depth: number): Promise<void> => {
    const where = `${repository}: blob ${desc.digest}`;
    if (!DIGEST_RE.test(desc.digest) || !Number.isSafeInteger(desc.size) || desc.size < 0) {
      plan.problems.push(`${where}: invalid descriptor`);
      return;
    }
    if (plan.blobs.has(desc.digest)) return;
    plan.blobs.set(desc.digest, desc);
    const isManifest = /manifest|index/.test(desc.mediaType) && depth < 3;
    if (!isManifest && !verifyAll) return;
    let actual: { digest: string; size: number } | undefined;
    try {
      actual = await hashFile(layout.blobPath(desc.digest));
    } catch {
      plan.problems.push(`${where}: missing`);
      return;
    }
    if (actual.size !== desc.size)
      plan.problems.push(`${where}: ${actual.size} bytes, expected ${desc.size}`);
    else if (actual.digest !== desc.digest)
      plan.problems.push(`${where}: content hashes to ${actual.digest}`);
    if (!isManifest || actual.digest !== desc.digest) return;
    if (desc.size > MANIFEST_MAX_BYTES) {
      plan.problems.push(`${where}: manifest larger than ${MANIFEST_MAX_BYTES} bytes`);
      return;
    }
    let parsed: { config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] };
    try {
      parsed = JSON.parse(await readFile(layout.blobPath(desc.digest), 'utf8'));
    } catch {
      plan.problems.push(`${where}: manifest is not JSON`);
      return;
    }
    const children = [
      ...(parsed.config ? [parsed.config] : []),
      ...(parsed.layers ?? []),
      ...(parsed.manifests ?? []),
    ];
    for (const child of children) await visit(child, depth + 1);
  };
  for (const m of index.manifests) await visit(m, 0);
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

/** Imported entries win; a store entry whose tag they take over becomes untagged history. */
function mergeIndex(existing: Descriptor[], imported: Descriptor[]): Descriptor[] {
  const importedDigests = new Set(imported.map((m) => m.digest));
  const importedTags = new Set(imported.map((m) => m.annotations?.[Annotation.RefName]).filter(Boolean));
  const kept: Descriptor[] = [];
  for (const m of existing) {
    if (importedDigests.has(m.digest)) continue;
    const tag = m.annotations?.[Annotation.RefName];
    if (tag && importedTags.has(tag)) {
      const annotations: Record<string, string> = { ...m.annotations, [TAG_ANNOTATION]: tag };
      delete annotations[Annotation.RefName];
      kept.push({ ...m, annotations });
    } else {
      kept.push(m);
    }
  }
  return [...imported, ...kept];
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

// Blobs of stored versions: whether a version is complete (and if not, what it lacks), the newest
// complete older version of a tag, and restarting the GC grace clock of versions that just became
// unreferenced (so downloads that resolved them before a swap finish).
import { readFile, utimes } from 'node:fs/promises';
import {
  type Descriptor,
  type ImageManifest,
  isOciError,
  type ManifestBytes,
  OciErrorCode,
  type OciLayout,
} from '@trivy-mirror/oci';
import { currentEntry, versionsOf } from './store-versions.js';

/** What a stored version lacks: blobs missing, or a manifest blob that does not hash to its digest. */
export interface VersionDamage {
  /** The version's manifest digest. */
  digest: string;
  /** The blobs that are missing or bad. */
  blobs: string[];
  reason: string;
}

export async function touchVersions(layout: OciLayout, versions: Descriptor[]): Promise<void> {
  const now = new Date();
  for (const version of versions) {
    const digests = [version.digest];
    try {
      const m = JSON.parse(await readFile(layout.blobPath(version.digest), 'utf8')) as Partial<ImageManifest>;
      if (m.config) digests.push(m.config.digest);
      for (const l of m.layers ?? []) digests.push(l.digest);
    } catch {
      // missing or unreadable: nothing to keep
    }
    for (const d of digests) await utimes(layout.blobPath(d), now, now).catch(() => undefined);
  }
}

export async function hasBlobs(layout: OciLayout, m: ManifestBytes): Promise<boolean> {
  for (const d of [m.manifest.config, ...m.manifest.layers]) {
    if (!(await layout.blobHas(d.digest))) return false;
  }
  return true;
}

/**
 * Undefined when the version's manifest verifies and every blob it names is on disk (layers are not
 * hashed here: readers do that while they read them). Otherwise what is wrong.
 */
export async function versionDamage(layout: OciLayout, digest: string): Promise<VersionDamage | undefined> {
  let m: ManifestBytes | undefined;
  try {
    m = await layout.manifestGet(digest);
  } catch (err) {
    if (!isOciError(err, OciErrorCode.DIGEST_MISMATCH, OciErrorCode.MANIFEST_INVALID)) throw err;
    return { digest, blobs: [digest], reason: `manifest ${(err as Error).message}` };
  }
  if (!m) return { digest, blobs: [digest], reason: `manifest ${digest} missing from the store` };
  const missing: string[] = [];
  for (const d of [m.manifest.config, ...(m.manifest.layers ?? [])]) {
    if (d?.digest && !(await layout.blobHas(d.digest))) missing.push(d.digest);
  }
  if (missing.length === 0) return undefined;
  const what = missing.map((d) => `${d === m.manifest.config.digest ? 'config' : 'layer'} ${d}`);
  return { digest, blobs: missing, reason: `${what.join(', ')} missing from the store` };
}

/** The newest version of `tag` other than its current one that is complete, if the history holds one. */
export async function newestCompleteOlder(layout: OciLayout, tag: string): Promise<Descriptor | undefined> {
  const manifests = (await layout.index()).manifests;
  const current = currentEntry(manifests, tag);
  for (const version of versionsOf(manifests, tag)) {
    if (version.digest === current?.digest) continue;
    if (!(await versionDamage(layout, version.digest))) return version;
  }
  return undefined;
}

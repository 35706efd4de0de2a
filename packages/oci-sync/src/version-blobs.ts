// Blobs of stored versions: whether a version is complete, and restarting the GC grace clock of
// versions that just became unreferenced (so downloads that resolved them before a swap finish).
import { readFile, utimes } from 'node:fs/promises';
import type { Descriptor, ImageManifest, ManifestBytes, OciLayout } from '@trivy-mirror/oci';

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

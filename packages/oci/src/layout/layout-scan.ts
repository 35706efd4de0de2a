// The manifests a layout's blobs hold, found without index.json: what a torn index is rebuilt from.
// Only files small enough to be manifests are read (layers can be gigabytes), and only those whose
// content hashes to their name count.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Digest } from '../digest.js';
import { parseManifest } from '../registry/manifest.js';
import { type ManifestBytes, MANIFEST_MAX_BYTES } from '../types.js';

export interface ScannedManifest extends ManifestBytes {
  /** When the blob file was last written or touched (a version's age when nothing else says it). */
  mtimeMs: number;
}

export async function scanManifests(layoutDir: string): Promise<ScannedManifest[]> {
  const dir = join(layoutDir, 'blobs', 'sha256');
  const out: ScannedManifest[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!/^[a-f0-9]{64}$/.test(name)) continue;
    const file = join(dir, name);
    try {
      const st = await stat(file);
      if (st.size < 2 || st.size > MANIFEST_MAX_BYTES) continue;
      const bytes = await readFile(file);
      if (bytes[0] !== 0x7b /* { */ || sha256Digest(bytes) !== `sha256:${name}`) continue;
      out.push({ ...parseManifest(bytes, undefined, file), mtimeMs: st.mtimeMs });
    } catch {
      // gone meanwhile, or not a manifest
    }
  }
  return out;
}

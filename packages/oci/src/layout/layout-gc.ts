// Garbage collection of a layout: the blobs index.json reaches (manifests are read, layers and
// configs are leaves), and removal of the rest once they are older than the grace time.
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type Descriptor, MANIFEST_MAX_BYTES } from '../types.js';

const DEFAULT_GC_GRACE_MS = 15 * 60_000;

export interface GcOptions {
  graceMs?: number;
  keep?: (digest: string) => boolean;
  dryRun?: boolean;
  index?: Descriptor[];
}

interface BlobDir {
  readonly dir: string;
  blobPath(digest: string): string;
}

/** Every blob reachable from `manifests`: manifests, children, configs, layers, subjects. */
export async function referencedBlobs(layout: BlobDir, manifests: Descriptor[]): Promise<Set<string>> {
  const seen = new Set<string>();
  const queue = manifests.map((m) => m.digest);
  while (queue.length > 0) {
    const digest = queue.pop()!;
    if (seen.has(digest)) continue;
    seen.add(digest);
    let json: {
      manifests?: Descriptor[];
      config?: Descriptor;
      layers?: Descriptor[];
      subject?: Descriptor;
    };
    try {
      if ((await stat(layout.blobPath(digest))).size > MANIFEST_MAX_BYTES) continue; // not a manifest
      json = JSON.parse(await readFile(layout.blobPath(digest), 'utf8'));
    } catch {
      continue; // missing or not JSON: a leaf
    }
    // Only manifests are read; layers and configs are leaves (and layers can be gigabytes).
    for (const d of json.manifests ?? []) queue.push(d.digest);
    for (const d of json.layers ?? []) seen.add(d.digest);
    if (json.config) seen.add(json.config.digest);
    if (json.subject) queue.push(json.subject.digest);
  }
  return seen;
}

/** Removes (or with `dryRun` lists) the blobs not in `live` and older than the grace time. Caller holds the index mutex. */
export async function collectGarbage(
  layout: BlobDir,
  live: Set<string>,
  options: GcOptions,
): Promise<{ removed: string[]; bytes: number }> {
  const grace = options.graceMs ?? DEFAULT_GC_GRACE_MS;
  const removed: string[] = [];
  let bytes = 0;
  const dir = join(layout.dir, 'blobs', 'sha256');
  const now = Date.now();
  for (const name of await readdir(dir)) {
    if (!/^[a-f0-9]{64}$/.test(name)) continue;
    const digest = `sha256:${name}`;
    if (live.has(digest) || options.keep?.(digest)) continue;
    const path = join(dir, name);
    const st = await stat(path).catch(() => undefined);
    if (!st || now - st.mtimeMs < grace) continue;
    if (!options.dryRun) await unlink(path).catch(() => undefined);
    removed.push(digest);
    bytes += st.size;
  }
  return { removed, bytes };
}

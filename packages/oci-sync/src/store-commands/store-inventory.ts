// What the store holds, for `trivy-mirror store ls`: every version of every tag in every layout,
// newest first, with its total size (manifest + config + layers) and when it was stored.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Annotation, type Descriptor, MANIFEST_MAX_BYTES, OciLayout } from '@trivy-mirror/oci';
import { STORED_AT_ANNOTATION, entryTag, versionsOf } from '../store/store-versions.js';
import { findLayouts } from './store-transfer.js';

export interface StoredVersion {
  repository: string;
  /** The tag this version belongs to; undefined for entries that belong to no tag. */
  tag?: string;
  /** True for the entry that carries the tag now (what clients pulling REPO:TAG get). */
  current: boolean;
  digest: string;
  mediaType: string;
  /** Manifest plus the blobs it references (children of an index included). */
  size: number;
  /** From our stored-at annotation, else the manifest blob's mtime. */
  storedAt?: string;
}

export async function listStore(root: string): Promise<StoredVersion[]> {
  const out: StoredVersion[] = [];
  for (const repository of await findLayouts(root)) {
    const layout = await OciLayout.open(join(root, repository));
    const manifests = (await layout.index()).manifests;
    const tags = [...new Set(manifests.map(entryTag).filter((t): t is string => t !== undefined))];
    const listed = new Set<Descriptor>();
    for (const tag of tags.sort()) {
      for (const d of versionsOf(manifests, tag)) {
        listed.add(d);
        out.push(await describe(layout, repository, d, tag));
      }
    }
    for (const d of manifests.filter((m) => !listed.has(m))) out.push(await describe(layout, repository, d));
  }
  return out;
}

async function describe(
  layout: OciLayout,
  repository: string,
  d: Descriptor,
  tag?: string,
): Promise<StoredVersion> {
  const storedAt =
    d.annotations?.[STORED_AT_ANNOTATION] ??
    (await stat(layout.blobPath(d.digest)).then(
      (s) => s.mtime.toISOString(),
      () => undefined,
    ));
  return {
    repository,
    tag,
    current: tag !== undefined && d.annotations?.[Annotation.RefName] === tag,
    digest: d.digest,
    mediaType: d.mediaType,
    size: await treeSize(layout, d, 0),
    storedAt,
  };
}

/** The descriptor's size plus, for a manifest or index, what it references (missing blobs count 0). */
async function treeSize(layout: OciLayout, d: Descriptor, depth: number): Promise<number> {
  if (d.size > MANIFEST_MAX_BYTES || depth > 2) return d.size;
  let json: { config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] };
  try {
    json = JSON.parse(await readFile(layout.blobPath(d.digest), 'utf8'));
  } catch {
    return d.size;
  }
  let total = d.size + (json.config?.size ?? 0);
  for (const l of json.layers ?? []) total += l.size;
  for (const child of json.manifests ?? []) total += await treeSize(layout, child, depth + 1);
  return total;
}

// What the store holds, for `trivy-mirror store ls`: every version of every tag in every layout,
// newest first, with its total size (manifest + config + layers), when it was stored and how many
// signatures its `sha256-<hex>.sig` holds (signature artifacts are not listed as versions of their own).
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Annotation,
  type Descriptor,
  isSignatureTag,
  MANIFEST_MAX_BYTES,
  OciLayout,
  parseSignatureManifest,
  signatureTag,
} from '@trivy-mirror/oci';
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
  /** Signatures in the version's `sha256-<hex>.sig` (not verified: `store verify` does that); 0 when unsigned. */
  signatures: number;
}

export async function listStore(root: string): Promise<StoredVersion[]> {
  const out: StoredVersion[] = [];
  for (const repository of await findLayouts(root)) {
    const layout = await OciLayout.open(join(root, repository));
    const manifests = (await layout.index()).manifests;
    const tags = [...new Set(manifests.map(entryTag).filter((t): t is string => t !== undefined))];
    const listed = new Set<Descriptor>();
    const signaturesOf = async (d: Descriptor) => {
      const sig = manifests.find((m) => m.annotations?.[Annotation.RefName] === signatureTagOf(d.digest));
      if (!sig) return 0;
      listed.add(sig);
      return countSignatures(layout, sig);
    };
    for (const tag of tags.filter((t) => !isSignatureTag(t)).sort()) {
      for (const d of versionsOf(manifests, tag)) {
        listed.add(d);
        out.push({ ...(await describe(layout, repository, d, tag)), signatures: await signaturesOf(d) });
      }
    }
    // entries of no tag, and signatures whose version is gone
    for (const d of manifests.filter((m) => !listed.has(m))) {
      const tag = entryTag(d);
      out.push(await describe(layout, repository, d, tag));
    }
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
    signatures: 0,
  };
}

function signatureTagOf(digest: string): string | undefined {
  try {
    return signatureTag(digest);
  } catch {
    return undefined; // not sha256: cosign has no tag for it
  }
}

/** The signature layers of a `.sig` artifact (0 when it cannot be read or is no signature artifact). */
async function countSignatures(layout: OciLayout, d: Descriptor): Promise<number> {
  if (d.size > MANIFEST_MAX_BYTES) return 0;
  try {
    return parseSignatureManifest(await readFile(layout.blobPath(d.digest))).length;
  } catch {
    return 0;
  }
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

// What artifactCopy would do, without doing it (`copy --dry-run`): resolves the source manifest and
// asks the destination which manifests and blobs it already has. Only reads (HEAD/GET); a layout
// destination that does not exist is not created.
import { isOciError, OciError, OciErrorCode } from '../errors.js';
import { formatReference, withDigest } from '../reference.js';
import type { Descriptor, ImageManifest, Reference, Transport } from '../types.js';

export interface ArtifactCopyPlan {
  digest: string;
  mediaType: string;
  /** The destination already has the top manifest under this reference. */
  upToDate: boolean;
  blobs: number;
  blobsMissing: number;
  /** Bytes of the blobs the destination lacks: what would move (less what a mount saves). */
  bytesMissing: number;
  bytesTotal: number;
}

type ManifestJson = ImageManifest & { manifests?: Descriptor[] };

export async function artifactCopyPlan(options: {
  src: Transport;
  srcRef: Reference;
  dst: Transport;
  dstRef: Reference;
  signal?: AbortSignal;
}): Promise<ArtifactCopyPlan> {
  const { src, srcRef, dst, dstRef, signal } = options;
  const top = await src.manifestGet(srcRef, { signal });
  if (srcRef.digest && top.descriptor.digest !== srcRef.digest) {
    throw new OciError(
      OciErrorCode.DIGEST_MISMATCH,
      `${formatReference(srcRef)} resolved to ${top.descriptor.digest}`,
    );
  }
  const existing = await dst.manifestHead(dstRef, { signal }).catch(absentIfNoLayout);
  const plan: ArtifactCopyPlan = {
    digest: top.descriptor.digest,
    mediaType: top.descriptor.mediaType,
    upToDate: existing?.digest === top.descriptor.digest,
    blobs: 0,
    blobsMissing: 0,
    bytesMissing: 0,
    bytesTotal: 0,
  };
  const walk = async (manifest: ManifestJson, depth: number): Promise<void> => {
    if (depth > 4) throw new OciError(OciErrorCode.MANIFEST_INVALID, 'index nesting too deep');
    for (const child of manifest.manifests ?? []) {
      const got = await src.manifestGet(withDigest(srcRef, child.digest), { signal });
      await walk(got.manifest as ManifestJson, depth + 1);
    }
    for (const blob of [manifest.config, ...(manifest.layers ?? [])].filter(Boolean)) {
      plan.blobs++;
      plan.bytesTotal += blob.size;
      const have = await dst.blobHead(dstRef, blob.digest, { signal }).catch(absentIfNoLayout);
      if (have && (have.size < 0 || have.size === blob.size)) continue;
      plan.blobsMissing++;
      plan.bytesMissing += blob.size;
    }
  };
  await walk(top.manifest as ManifestJson, 0);
  return plan;
}

/** A destination directory that is not a layout yet would be created by the copy: nothing there. */
function absentIfNoLayout(err: unknown): undefined {
  if (isOciError(err, OciErrorCode.LAYOUT_INVALID)) return undefined;
  throw err;
}

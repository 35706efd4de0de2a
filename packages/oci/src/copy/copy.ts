// Byte-identical copy of one artifact between any two Transports: children of an index first,
// then blobs (skipped when present, mounted within one registry, else streamed), manifest last.
import type { Readable } from 'node:stream';
import { OciError, OciErrorCode } from '../errors.js';
import { type OciLogger, silentLogger } from '../logger.js';
import { formatReference, withDigest } from '../reference.js';
import type { Descriptor, ImageManifest, ProgressEvent, Reference, Transport } from '../types.js';

export interface ArtifactCopyOptions {
  src: Transport;
  srcRef: Reference;
  dst: Transport;
  dstRef: Reference;
  signal?: AbortSignal;
  onProgress?: (p: ProgressEvent) => void;
  logger?: OciLogger;
  /**
   * HEAD the target right before the manifest PUT and skip the PUT when it already names this
   * digest (another writer just pushed it): a registry rewrites its tag link on every PUT, and
   * distribution's filesystem storage answers readers 500 while it does.
   */
  skipPresentManifest?: boolean;
}

export interface ArtifactCopyResult {
  digest: string;
  mediaType: string;
  manifest: ImageManifest;
  blobsCopied: number;
  blobsSkipped: number;
  blobsMounted: number;
  /** Blob bytes actually transferred (not skipped or mounted). */
  bytes: number;
}

interface Stats {
  blobsCopied: number;
  blobsSkipped: number;
  blobsMounted: number;
  bytes: number;
}

/** The repository `dstRef` may mount from: the source repository, when both are on one registry. */
function mountSource(srcRef: Reference, dstRef: Reference): string | undefined {
  if (srcRef.kind !== 'registry' || dstRef.kind !== 'registry') return undefined;
  if (srcRef.registry !== dstRef.registry || srcRef.repository === dstRef.repository) return undefined;
  return srcRef.repository;
}

export async function artifactCopy(options: ArtifactCopyOptions): Promise<ArtifactCopyResult> {
  const stats: Stats = { blobsCopied: 0, blobsSkipped: 0, blobsMounted: 0, bytes: 0 };
  const log = options.logger ?? silentLogger;
  const started = Date.now();
  const top = await options.src.manifestGet(options.srcRef, { signal: options.signal });
  if (options.srcRef.digest && top.descriptor.digest !== options.srcRef.digest) {
    throw new OciError(
      OciErrorCode.DIGEST_MISMATCH,
      `${formatReference(options.srcRef)} resolved to ${top.descriptor.digest}`,
    );
  }
  await copyTree(options, top.manifest as ManifestJson, top.descriptor.digest, stats, 0);
  const present = options.skipPresentManifest
    ? await options.dst.manifestHead(options.dstRef, { signal: options.signal }).catch(() => undefined)
    : undefined;
  const digest =
    present?.digest === top.descriptor.digest
      ? present.digest
      : await options.dst.manifestPut(options.dstRef, top.bytes, top.descriptor.mediaType, {
          signal: options.signal,
        });
  if (digest !== top.descriptor.digest) {
    throw new OciError(
      OciErrorCode.DIGEST_MISMATCH,
      `copy to ${formatReference(options.dstRef)} stored ${digest}, source is ${top.descriptor.digest}`,
    );
  }
  log.info(
    {
      src: formatReference(options.srcRef),
      dst: formatReference(options.dstRef),
      digest,
      ...stats,
      ms: Date.now() - started,
    },
    'artifact copied',
  );
  return { digest, mediaType: top.descriptor.mediaType, manifest: top.manifest, ...stats };
}

type ManifestJson = ImageManifest & { manifests?: Descriptor[] };

/** Copies everything `manifest` needs on the target (not the manifest itself). */
async function copyTree(
  options: ArtifactCopyOptions,
  manifest: ManifestJson,
  digest: string,
  stats: Stats,
  depth: number,
): Promise<void> {
  if (depth > 4) throw new OciError(OciErrorCode.MANIFEST_INVALID, `index nesting too deep at ${digest}`);
  if (Array.isArray(manifest.manifests)) {
    for (const child of manifest.manifests) {
      const childSrc = withDigest(options.srcRef, child.digest);
      const childDst = withDigest(options.dstRef, child.digest);
      if (await options.dst.manifestHead(childDst, { signal: options.signal })) {
        stats.blobsSkipped++;
        continue;
      }
      const got = await options.src.manifestGet(childSrc, { signal: options.signal });
      await copyTree(options, got.manifest as ManifestJson, child.digest, stats, depth + 1);
      await options.dst.manifestPut(childDst, got.bytes, got.descriptor.mediaType, {
        signal: options.signal,
      });
    }
    return;
  }
  const blobs = [manifest.config, ...manifest.layers];
  for (const blob of blobs) await copyBlob(options, blob, stats);
}

async function copyBlob(options: ArtifactCopyOptions, blob: Descriptor, stats: Stats): Promise<void> {
  const { src, srcRef, dst, dstRef, signal } = options;
  const have = await dst.blobHead(dstRef, blob.digest, { signal });
  if (have && (have.size < 0 || have.size === blob.size)) {
    stats.blobsSkipped++;
    return;
  }
  let moved = 0;
  const open = (): Promise<Readable> =>
    src.blobGet(srcRef, blob, {
      signal,
      onProgress: (p) => {
        moved = p.bytes;
        options.onProgress?.(p);
      },
    });
  // both transports' blobGet streams verify size and digest themselves
  const result = await dst.blobPut(dstRef, blob, open, {
    signal,
    mountFrom: mountSource(srcRef, dstRef),
    sourceVerified: true,
  });
  if (result?.mounted) {
    stats.blobsMounted++;
    return;
  }
  stats.blobsCopied++;
  stats.bytes += moved || blob.size;
}

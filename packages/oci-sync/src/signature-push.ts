// A version's signature travels with it: after the artifact is at a destination, its
// `sha256-<hex>.sig` from the store follows (blobs first, manifest last), so `cosign verify` works
// against the destination. One HEAD per destination when it is there already.
import { artifactCopy, isOciError, OciErrorCode, parseReference, signatureTag } from '@trivy-mirror/oci';
import { describeError } from '@trivy-mirror/plugin-api';
import type { ArtifactSyncDeps, DestinationResult } from './artifact-sync.js';

type SignaturePushDeps = Pick<ArtifactSyncDeps, 'registry' | 'store' | 'logger' | 'signal'>;

/**
 * Pushes the stored signature of `digest` to each destination that holds the version now (not to
 * one that failed, nor to one holding another writer's newer version). A failure is recorded on the
 * destination's result, like a failed artifact push.
 */
export async function pushSignatures(
  deps: SignaturePushDeps,
  name: string,
  layoutPath: string,
  digest: string,
  destinations: DestinationResult[],
): Promise<void> {
  const tag = signatureTag(digest);
  const src = { kind: 'layout' as const, path: layoutPath, tag };
  const stored = await deps.store.transport.manifestHead(src, { signal: deps.signal }).catch(() => undefined);
  if (!stored) return;
  await Promise.all(
    destinations
      .filter((d) => !d.error && !d.superseded)
      .map(async (d) => {
        const reference = `${d.destination}/${name}:${tag}`;
        try {
          const dref = parseReference(reference);
          const there = await deps.registry.manifestHead(dref, { signal: deps.signal }).catch((err) => {
            if (isOciError(err, OciErrorCode.MANIFEST_UNKNOWN, OciErrorCode.NAME_UNKNOWN)) return undefined;
            throw err;
          });
          if (there?.digest === stored.digest) return;
          const copied = await artifactCopy({
            src: deps.store.transport,
            srcRef: src,
            dst: deps.registry,
            dstRef: dref,
            signal: deps.signal,
            skipPresentManifest: true,
          });
          d.bytes += copied.bytes;
          deps.logger.info(
            { artifact: name, destination: reference, digest: stored.digest },
            'signature pushed',
          );
        } catch (err) {
          d.error = `signature ${tag}: ${describeError(err)}`;
          deps.logger.error({ artifact: name, destination: reference, err }, 'signature push failed');
        }
      }),
  );
}

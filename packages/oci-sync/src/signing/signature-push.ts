// A version's signature travels with it: after the artifact is at a destination, its
// `sha256-<hex>.sig` from the store follows (blobs first, manifest last), so `cosign verify` works
// against the destination. One HEAD per destination when it is there already. A destination holding
// another valid signature of ours (the other daemon of an HA pair signed the same version) keeps it,
// so two daemons do not replace each other's signature on every run.
import {
  artifactCopy,
  isOciError,
  OciErrorCode,
  parseReference,
  parseSignatureManifest,
  parseSimpleSigningPayload,
  type Reference,
  signatureTag,
  type Transport,
  trustedSignerOf,
} from '@trivy-mirror/oci';
import { describeError } from '@trivy-mirror/plugin-api';
import type { ArtifactSyncDeps, DestinationResult } from '../sync/artifact-sync-types.js';

type SignaturePushDeps = Pick<ArtifactSyncDeps, 'registry' | 'store' | 'logger' | 'signal' | 'signing'>;

const MAX_PAYLOAD_BYTES = 1024 * 1024;

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
          if (there && (await signedByUs(deps, dref, digest))) return;
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

/** True when the destination's signature artifact holds a valid signature of ours for `digest`. */
async function signedByUs(deps: SignaturePushDeps, dref: Reference, digest: string): Promise<boolean> {
  const key = await deps.signing?.key().catch(() => undefined);
  if (!key) return false;
  try {
    const { bytes } = await deps.registry.manifestGet(dref, { signal: deps.signal });
    for (const layer of parseSignatureManifest(bytes)) {
      if (layer.keyIdHint !== key.keyId || layer.descriptor.size > MAX_PAYLOAD_BYTES) continue;
      const payload = await readBlob(deps.registry, dref, layer.descriptor, deps.signal);
      if (
        trustedSignerOf(payload, layer.signature, [key]) &&
        parseSimpleSigningPayload(payload).critical.image['docker-manifest-digest'] === digest
      )
        return true;
    }
  } catch {
    // unreadable or not a signature artifact: ours replaces it
  }
  return false;
}

async function readBlob(
  registry: Transport,
  ref: Reference,
  descriptor: Parameters<Transport['blobGet']>[1],
  signal?: AbortSignal,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // blobGet checks size and digest while streaming
  for await (const c of await registry.blobGet(ref, descriptor, { signal })) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

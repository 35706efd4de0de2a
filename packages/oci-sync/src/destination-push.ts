// From the store to the destination registries (DEST/NAME:TAG): every destination in parallel,
// manifest last, checked by a manifest HEAD; the outcome recorded in the tag's status. Shared by the
// sync from an upstream and the check of an imported store (an inside site pushing to its Harbor).
import {
  artifactCopy,
  isOciError,
  OciErrorCode,
  parseReference,
  type Reference,
  type Transport,
} from '@trivy-mirror/oci';
import { describeError, MirrorError } from '@trivy-mirror/plugin-api';
import type { ArtifactSyncDeps, ArtifactTagResult, DestinationResult } from './artifact-sync.js';
import type { ArtifactTagStatus } from './sync-state.js';

type PushDeps = Pick<
  ArtifactSyncDeps,
  'registry' | 'store' | 'config' | 'logger' | 'now' | 'signal' | 'onProgress'
>;

/** Pushes `result.digest` and records each destination's outcome in `result` and `status`. */
export async function pushAndRecord(
  deps: PushDeps,
  result: ArtifactTagResult,
  status: ArtifactTagStatus,
  teed: Map<string, number> = new Map(),
): Promise<void> {
  const digest = result.digest;
  if (!digest) return;
  result.destinations = await pushDestinations(
    deps,
    result.artifact,
    result.tag,
    result.layoutPath,
    digest,
    teed,
  );
  result.bytesPushed = result.destinations.reduce((n, d) => n + d.bytes, 0);
  status.destinations = Object.fromEntries(
    result.destinations.map((d) => [
      d.reference,
      {
        digest: d.error ? status.destinations?.[d.reference]?.digest : digest,
        lastPush: d.pushed ? deps.now().toISOString() : status.destinations?.[d.reference]?.lastPush,
        lastError: d.error,
      },
    ]),
  );
}

export function throwIfPushFailed(result: ArtifactTagResult): void {
  const failed = result.destinations.filter((d) => d.error);
  if (failed.length > 0) {
    throw new MirrorError(
      'DESTINATION_FAILED',
      `${result.artifact}:${result.tag}: push failed: ${failed.map((d) => `${d.reference}: ${d.error}`).join('; ')}`,
    );
  }
}

/**
 * Pushes from the store to every destination in parallel (blobs teed during the download are
 * found by HEAD and skipped), manifest last; each is checked by a manifest HEAD after.
 */
async function pushDestinations(
  deps: PushDeps,
  name: string,
  tag: string,
  layoutPath: string,
  digest: string,
  teed: Map<string, number>,
): Promise<DestinationResult[]> {
  const { registry, store, signal, logger } = deps;
  return Promise.all(
    deps.config.destinations.map(async (destination): Promise<DestinationResult> => {
      const reference = `${destination}/${name}:${tag}`;
      const out: DestinationResult = { destination, reference, pushed: false, bytes: 0 };
      try {
        const dref = parseReference(reference);
        const before = await headOrUndefined(registry, dref, signal);
        if (before?.digest === digest) return out;
        const copied = await artifactCopy({
          src: store.transport,
          srcRef: { kind: 'layout', path: layoutPath, digest },
          dst: registry,
          dstRef: dref,
          signal,
          logger,
          onProgress: deps.onProgress
            ? (p) => deps.onProgress?.(`${tag} -> ${destination}`, p.bytes, p.total)
            : undefined,
        });
        const after = await headOrUndefined(registry, dref, signal);
        if (after?.digest !== digest) {
          throw new MirrorError(
            'DESTINATION_MISMATCH',
            `${reference} has manifest ${after?.digest ?? 'none'} after the push, expected ${digest}`,
          );
        }
        out.pushed = true;
        out.bytes = copied.bytes + (teed.get(reference) ?? 0);
        logger.info({ artifact: name, tag, destination: reference, digest, bytes: out.bytes }, 'pushed');
      } catch (err) {
        out.error = describeError(err);
        logger.error({ artifact: name, tag, destination: reference, err }, 'push failed');
      }
      return out;
    }),
  );
}

async function headOrUndefined(registry: Transport, ref: Reference, signal: AbortSignal) {
  try {
    return await registry.manifestHead(ref, { signal });
  } catch (err) {
    if (isOciError(err, OciErrorCode.MANIFEST_UNKNOWN, OciErrorCode.NAME_UNKNOWN)) return undefined;
    throw err;
  }
}

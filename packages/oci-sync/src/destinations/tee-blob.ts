// The download fan-out of one blob: a verified download written to the store and streamed at the same
// time to the destinations that lack it (one transfer, not two).
import type { Readable } from 'node:stream';
import {
  type Descriptor,
  OciError,
  OciErrorCode,
  type OciLayout,
  parseReference,
  type Reference,
} from '@trivy-mirror/oci';
import type { ArtifactSyncDeps } from '../sync/artifact-sync-types.js';
import { teeStream } from './stream-tee.js';

/**
 * A destination that takes nothing for this long while the download
 * waits for it is cut off; the destination is then pushed from the store like any other.
 */
const TEE_STALL_MS = 5_000;
/** How long the blob HEADs that decide which destinations get the download may take. */
const TEE_HEAD_TIMEOUT_MS = 10_000;

interface TeeDestination {
  reference: string;
  ref: Reference;
}

/** Destinations that lack `desc` (by blob HEAD). Any doubt leaves one out: it is pushed from the store later. */
export async function destinationsLacking(
  deps: ArtifactSyncDeps,
  target: { name: string; tag: string },
  desc: Descriptor,
): Promise<TeeDestination[]> {
  // the download waits for these answers: a slow destination is left to the push from the store
  const signal = AbortSignal.any([deps.signal, AbortSignal.timeout(TEE_HEAD_TIMEOUT_MS)]);
  const found = await Promise.all(
    deps.config.destinations.map(async (destination): Promise<TeeDestination | undefined> => {
      const reference = `${destination}/${target.name}:${target.tag}`;
      try {
        const ref = parseReference(reference);
        if (ref.kind !== 'registry') return undefined;
        const have = await deps.registry.blobHead(ref, desc.digest, { signal });
        return have ? undefined : { reference, ref };
      } catch (err) {
        deps.logger.debug({ destination: reference, err }, 'blob HEAD failed; pushing from the store later');
        return undefined;
      }
    }),
  );
  return found.filter((d): d is TeeDestination => d !== undefined);
}

/**
 * One verified download, written to the store and streamed to `destinations` at the same time. The store write decides: when it fails, everything is aborted and the
 * error thrown. A destination that fails is only reported (it gets the blob from the store later).
 * Every branch sees the verify stream's error before the last bytes on a digest mismatch, so no
 * consumer completes a wrong blob (a registry refuses the short upload, the store removes its temp).
 */
export async function teeBlob(
  deps: ArtifactSyncDeps,
  layout: OciLayout,
  desc: Descriptor,
  source: Readable,
  destinations: TeeDestination[],
): Promise<string[]> {
  const { registry, signal, logger } = deps;
  const branches = teeStream(source, [
    { critical: true },
    ...destinations.map(() => ({ stallMs: TEE_STALL_MS })),
  ]);
  const [storeBranch, ...rest] = branches;
  const aborts = destinations.map(() => new AbortController());
  // the download verifies size and digest, and every branch sees its error before the last bytes
  const stored = layout.blobWrite(desc, storeBranch, { signal, sourceVerified: true });
  const pushes = destinations.map(async (d, i): Promise<string | undefined> => {
    const branch = rest[i];
    const ctl = aborts[i];
    const onAbort = () => ctl.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    // cut off by the tee (stalled) or failed: stop waiting for this destination at once
    branch.once('close', () => {
      if (!branch.readableEnded) ctl.abort(branch.errored ?? new Error('download branch closed early'));
    });
    let opened = false;
    try {
      await registry.blobPut(
        d.ref,
        desc,
        () => {
          // the download cannot be replayed: a retry gives up here and the store push takes over
          if (opened) {
            throw new OciError(OciErrorCode.UNSUPPORTED, 'streamed upload cannot be replayed');
          }
          opened = true;
          return branch;
        },
        { signal: ctl.signal },
      );
      return d.reference;
    } catch (err) {
      branch.destroy();
      if (!signal.aborted) {
        logger.warn(
          { destination: d.reference, digest: desc.digest, err },
          'push during download failed; pushing from the store afterwards',
        );
      }
      return undefined;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  });
  try {
    await stored;
  } catch (err) {
    for (const ctl of aborts) ctl.abort(err);
    for (const b of branches) b.destroy(err instanceof Error ? err : new Error(String(err)));
    await Promise.allSettled(pushes);
    throw err;
  }
  return (await Promise.all(pushes)).filter((r): r is string => r !== undefined);
}

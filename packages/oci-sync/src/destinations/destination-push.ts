// From the store to the destination registries (DEST/NAME:TAG): every destination in parallel, the
// outcome recorded in the tag's status. Shared by the sync from an upstream and the check of an
// imported store (an inside site pushing to its Harbor). Safe when another daemon (an HA pair, same
// config, own state dir) pushes into the same destination at the same time:
// - blobs first (each HEADed right before its upload, so one the other daemon has just pushed is
//   skipped), manifest last: a tag never names a manifest whose blobs are missing;
// - a tag that holds a newer version (by org.opencontainers.image.created) whose blobs are all
//   there is left alone, before the push and when it moved under us during the push: the slower
//   daemon neither moves the tag back nor reports the other's push as a mismatch.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ArtifactCopyOptions,
  type ArtifactCopyResult,
  artifactCopy,
  type Descriptor,
  isOciError,
  type ManifestBytes,
  OciErrorCode,
  parseReference,
  type Reference,
  type Transport,
  withDigest,
} from '@trivy-mirror/oci';
import { describeError, type Logger, MirrorError } from '@trivy-mirror/plugin-api';
import type { ArtifactSyncDeps, ArtifactTagResult, DestinationResult } from '../sync/artifact-sync-types.js';
import { pushSignatures } from '../signing/signature-push.js';
import type { ArtifactTagStatus } from '../sync/sync-state.js';

type PushDeps = Pick<
  ArtifactSyncDeps,
  'registry' | 'store' | 'config' | 'logger' | 'now' | 'signal' | 'onProgress' | 'damage' | 'signing'
>;

const CREATED = 'org.opencontainers.image.created';

/** Pushes `current` (the tag's stored version) and records each destination's outcome in `result` and `status`. */
export async function pushAndRecord(
  deps: PushDeps,
  result: ArtifactTagResult,
  status: ArtifactTagStatus,
  current: ManifestBytes,
  teed: Map<string, number> = new Map(),
): Promise<void> {
  const digest = current.descriptor.digest;
  result.destinations = await pushDestinations(
    deps,
    result.artifact,
    result.tag,
    result.layoutPath,
    current,
    teed,
  );
  // the signature follows its artifact (when the store holds one)
  await pushSignatures(deps, result.artifact, result.layoutPath, digest, result.destinations);
  result.bytesPushed = result.destinations.reduce((n, d) => n + d.bytes, 0);
  status.destinations = Object.fromEntries(
    result.destinations.map((d) => [
      d.reference,
      {
        digest: d.error ? status.destinations?.[d.reference]?.digest : (d.superseded ?? digest),
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
  current: ManifestBytes,
  teed: Map<string, number>,
): Promise<DestinationResult[]> {
  const { registry, store, signal, logger } = deps;
  const digest = current.descriptor.digest;
  return Promise.all(
    deps.config.destinations.map(async (destination): Promise<DestinationResult> => {
      const reference = `${destination}/${name}:${tag}`;
      const out: DestinationResult = { destination, reference, pushed: false, bytes: 0 };
      try {
        const dref = parseReference(reference);
        const before = await headOrUndefined(registry, dref, signal);
        if (before?.digest === digest) return out;
        if (before && (await newerAndComplete(registry, dref, before.digest, current, signal))) {
          out.superseded = before.digest;
          logger.info(
            { artifact: name, tag, destination: reference, theirs: before.digest, ours: digest },
            'destination holds a newer version from another writer; not moving its tag back',
          );
          return out;
        }
        const copied = await copyRetryingRaces(logger, {
          src: store.transport,
          srcRef: { kind: 'layout', path: layoutPath, digest },
          dst: registry,
          dstRef: dref,
          signal,
          logger,
          skipPresentManifest: true,
          onProgress: deps.onProgress
            ? (p) => deps.onProgress?.(`${tag} -> ${destination}`, p.bytes, p.total)
            : undefined,
        });
        out.pushed = true;
        out.bytes = copied.bytes + (teed.get(reference) ?? 0);
        const after = await headOrUndefined(registry, dref, signal);
        if (after?.digest !== digest) {
          // another writer moved the tag between our manifest PUT and this HEAD
          if (after && (await newerAndComplete(registry, dref, after.digest, current, signal))) {
            out.superseded = after.digest;
          } else {
            throw new MirrorError(
              'DESTINATION_MISMATCH',
              `${reference} has manifest ${after?.digest ?? 'none'} after the push, expected ${digest}`,
            );
          }
        }
        logger.info({ artifact: name, tag, destination: reference, digest, bytes: out.bytes }, 'pushed');
      } catch (err) {
        out.error = describeError(err);
        logger.error({ artifact: name, tag, destination: reference, err }, 'push failed');
        // the store's copy did not verify while it was read for the push: checked, quarantined, re-fetched
        if (
          isOciError(err, OciErrorCode.DIGEST_MISMATCH, OciErrorCode.SIZE_MISMATCH) &&
          err.target?.startsWith('sha256:')
        )
          await deps.damage?.check({
            repository: name,
            digest: err.target,
            reason: out.error,
            reporter: 'oci-sync push',
          });
      }
      return out;
    }),
  );
}

// What distribution answers a manifest PUT while another writer's upload of one of its blobs is
// being committed (the repository's link file is rewritten in place): the blob is there a moment later.
const RACE_CODES = new Set(['MANIFEST_BLOB_UNKNOWN', 'BLOB_UNKNOWN', 'DIGEST_INVALID']);
const RACE_ATTEMPTS = 4;

/** artifactCopy again (HEAD every blob, push what is missing, PUT the manifest) after such an answer. */
async function copyRetryingRaces(logger: Logger, options: ArtifactCopyOptions): Promise<ArtifactCopyResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await artifactCopy(options);
    } catch (err) {
      const codes = (err as { registryCodes?: string[] }).registryCodes ?? [];
      if (attempt >= RACE_ATTEMPTS || options.signal?.aborted || !codes.some((c) => RACE_CODES.has(c)))
        throw err;
      logger.warn(
        { destination: describeRef(options.dstRef), attempt, err },
        'destination does not see a blob yet (a concurrent push of the same blob?); pushing again',
      );
      await sleep(250 * attempt, undefined, { signal: options.signal });
    }
  }
}

function describeRef(ref: Reference): string {
  return ref.kind === 'registry' ? `${ref.registry}/${ref.repository}` : ref.path;
}

/**
 * True when `theirs` (the destination's tag) was created after our version and every blob it
 * names is in the destination. Anything unreadable or undated counts as not newer: we push.
 */
async function newerAndComplete(
  registry: Transport,
  dref: Reference,
  theirs: string,
  ours: ManifestBytes,
  signal: AbortSignal,
): Promise<boolean> {
  const ourCreated = Date.parse(ours.manifest.annotations?.[CREATED] ?? '');
  if (Number.isNaN(ourCreated)) return false;
  let other: ManifestBytes;
  try {
    other = await registry.manifestGet(withDigest(dref, theirs), { signal });
  } catch {
    return false;
  }
  const theirCreated = Date.parse(other.manifest.annotations?.[CREATED] ?? '');
  if (Number.isNaN(theirCreated) || theirCreated <= ourCreated) return false;
  const blobs: Descriptor[] = [other.manifest.config, ...(other.manifest.layers ?? [])].filter(Boolean);
  for (const blob of blobs) {
    const have = await registry.blobHead(dref, blob.digest, { signal }).catch(() => undefined);
    if (!have) return false; // incomplete: our complete version is better than a broken newer one
  }
  return true;
}

async function headOrUndefined(registry: Transport, ref: Reference, signal: AbortSignal) {
  try {
    return await registry.manifestHead(ref, { signal });
  } catch (err) {
    if (isOciError(err, OciErrorCode.MANIFEST_UNKNOWN, OciErrorCode.NAME_UNKNOWN)) return undefined;
    throw err;
  }
}

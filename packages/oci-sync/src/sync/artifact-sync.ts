// One artifact/tag through the pipeline: upstream (with fallback) → local layout → destinations.
// Cheap when nothing changed: one manifest HEAD per source, one per destination. When another
// source serves the same layer under a different manifest digest, the stored manifest is KEPT
// (no new version, no re-push to destinations, `changed: false`); only a new layer is a new version.
import { Readable } from 'node:stream';
import {
  type Descriptor,
  formatReference,
  isOciError,
  type ManifestBytes,
  OciError,
  OciErrorCode,
  OciLayout,
  parseReference,
  type Reference,
  sha256Digest,
  withDigest,
} from '@trivy-mirror/oci';
import { MirrorError } from '@trivy-mirror/plugin-api';
import { validateTrivyArtifact } from './artifact-rules.js';
import type { LayerMetadata } from '../metadata/layer-metadata.js';
import { checkLayerVersion } from '../metadata/layer-version-check.js';
import type { ArtifactConfig } from '../config.js';
import { trySources } from './source-fallback.js';
import { pushAndRecord, throwIfPushFailed } from '../destinations/destination-push.js';
import { recordStored } from '../metadata/record-stored.js';
import { RollbackRefusedError } from '../rollback/rollback-guard.js';
import {
  checkSyncRollback,
  refusedRecord,
  rememberedRefusal,
  type SyncRollbackCheck,
} from '../rollback/sync-rollback.js';
import { planTagUpdate } from '../store/store-versions.js';
import { destinationsLacking, teeBlob } from '../destinations/tee-blob.js';
import { tagAttempt } from '../destinations/tag-attempt.js';
import type { ArtifactTagStatus } from './sync-state.js';
import { storedTag } from '../store/stored-tag.js';
import { touchVersions } from '../store/version-blobs.js';
import { signStoredVersion } from '../signing/version-signature.js';
import type { ArtifactSyncDeps, ArtifactTagResult } from './artifact-sync-types.js';

type SourceOutcome = { kind: 'same' } | ({ kind: 'stored'; manifest: ManifestBytes } & StoreOutcome);

/** What storing a version did besides writing the store. */
interface StoreOutcome {
  bytes: number;
  /** Blob bytes each destination (by reference) received while they were downloaded. */
  teed: Map<string, number>;
  /** metadata.json of the db layer, read by the version check before the tag moved. */
  metadata?: LayerMetadata;
}

export async function syncArtifactTag(
  deps: ArtifactSyncDeps,
  artifact: ArtifactConfig,
  tag: string,
): Promise<ArtifactTagResult> {
  const { config, registry, store, state, logger, signal } = deps;
  const name = artifact.name;
  const layoutPath = store.layoutPath(name);
  return tagAttempt(deps, { name, tag, layoutPath }, async (result, status) => {
    let layout = await openLayout(layoutPath);
    // leftovers of writes a crash interrupted (writes running in this process are kept)
    const cleaned = await layout?.cleanTemp().catch(() => 0);
    if (cleaned) logger.info({ removed: cleaned }, 'removed leftovers of interrupted writes');
    // A version lacking a blob (found bad and quarantined, or deleted) is fetched again.
    const found = layout ? await storedTag(deps, artifact, layout, tag) : {};
    const stored = found.stored;
    if (found.damage) {
      const { digest, reason } = found.damage;
      logger.warn({ digest, reason }, 'stored version damaged, fetching it again');
    }
    const storedLayer = stored?.manifest.layers?.[0];

    const sources = (artifact.sources ?? config.sources).map((prefix) => {
      const ref = parseReference(`${prefix}/${name}:${tag}`);
      return { source: formatReference(ref), host: ref.kind === 'registry' ? ref.registry : prefix, ref };
    });
    const { source, value } = await trySources(
      `${name}:${tag}`,
      sources,
      deps.cooldowns,
      async ({ source: refText, ref }, { last }): Promise<SourceOutcome> => {
        // while another source is left, a refusal moves on to it at once instead of retrying here
        const head = await registry.manifestHead(ref, { signal, retry: last });
        if (!head) {
          throw new OciError(OciErrorCode.MANIFEST_UNKNOWN, `${refText}: manifest not found`, {
            status: 404,
          });
        }
        if (stored && head.digest === stored.descriptor.digest) return { kind: 'same' };
        // Another registry pushes the same layer under a different manifest digest: remembered
        // per source so an unchanged upstream costs one HEAD, not a GET, on every run.
        const seen = state.data.sources[refText];
        if (stored && seen?.manifestDigest === head.digest && seen.layerDigest === storedLayer?.digest) {
          return { kind: 'same' };
        }
        const rollback: SyncRollbackCheck = {
          name,
          tag,
          source: refText,
          allowRollback: artifact.allowRollback === true,
          logger,
        };
        const again = rememberedRefusal(rollback, seen?.refusedRollback, head.digest, stored);
        if (again) throw again;
        const fetched = await registry.manifestGet(withDigest(ref, head.digest), { signal });
        const layer = validateTrivyArtifact(
          name,
          fetched.manifest,
          `${refText}@${fetched.descriptor.digest}`,
        );
        state.data.sources[refText] = {
          manifestDigest: fetched.descriptor.digest,
          layerDigest: layer.digest,
          at: deps.now().toISOString(),
        };
        // Same content from another source: keep the stored manifest (and what destinations hold).
        if (stored && layer.digest === storedLayer?.digest) return { kind: 'same' };
        layout ??= await OciLayout.open(layoutPath, { create: true });
        const into = layout;
        const served = { check: rollback, status, manifest: stored };
        const saved = await withPinned(into.dir, fetched, () =>
          storeVersion(deps, into, ref, fetched, { name, tag, served }),
        ).catch((err: unknown) => {
          const record = err instanceof RollbackRefusedError ? refusedRecord(err) : undefined;
          const seenNow = state.data.sources[refText];
          if (record && seenNow) seenNow.refusedRollback = record;
          throw err;
        });
        return { kind: 'stored', manifest: fetched, ...saved };
      },
      (s, err) =>
        logger.warn({ artifact: name, tag, source: s.source, err }, 'source failed, trying the next one'),
    );

    if (!layout)
      throw new MirrorError('STORE_INCONSISTENT', `${name}:${tag}: layout ${layoutPath} missing after sync`);
    const current = value.kind === 'stored' ? value.manifest : stored;
    if (!current) throw new MirrorError('STORE_INCONSISTENT', `${name}:${tag}: nothing stored after sync`);
    const layer = current.manifest.layers[0];
    // the damaged version fetched again is a repair, not a new version
    result.repaired = value.kind === 'stored' && current.descriptor.digest === found.damage?.digest;
    result.changed = value.kind === 'stored' && !result.repaired;
    result.bytesDownloaded = value.kind === 'stored' ? value.bytes : 0;
    result.source = source.source;
    result.digest = current.descriptor.digest;
    result.layer = { ...layer, title: layer.annotations?.['org.opencontainers.image.title'] };

    // metadata.json of a new db version was read by its version check; otherwise it is read after the
    // job, off the path to the destinations (metadata-follow-up.ts)
    await recordStored(deps, layout, status, current, source.source, result.changed, { readMetadata: false });
    if (value.kind === 'stored' && value.metadata && status.layerDigest === layer.digest) {
      status.updatedAt = value.metadata.updatedAt;
      status.nextUpdate = value.metadata.nextUpdate;
      status.metadataRead = layer.digest;
    }

    await signStoredVersion(deps, layout, {
      name,
      current,
      source: source.source,
      status,
      metadata: value.kind === 'stored' ? value.metadata : undefined,
    });
    const teed = value.kind === 'stored' ? value.teed : new Map<string, number>();
    await pushAndRecord(deps, result, status, current, teed);
    const layoutDir = layout.dir;
    const gc = await layout.gc({
      graceMs: config.blobGraceMinutes * 60_000,
      keep: (digest) => isPinned(layoutDir, digest),
    });
    if (gc.removed.length > 0)
      logger.info({ removed: gc.removed.length, bytes: gc.bytes }, 'unreferenced blobs removed');

    throwIfPushFailed(result);
  });
}

/** The layout at `dir`, or undefined when there is none (yet). */
export async function openLayout(dir: string): Promise<OciLayout | undefined> {
  try {
    return await OciLayout.open(dir);
  } catch (err) {
    if (isOciError(err, OciErrorCode.LAYOUT_INVALID)) return undefined;
    throw err;
  }
}

interface StoreTarget {
  name: string;
  tag: string;
  /** The version the tag serves now, checked against rollbacks before the tag moves. */
  served?: { check: SyncRollbackCheck; status: ArtifactTagStatus; manifest: ManifestBytes | undefined };
}

// Blobs written but not yet referenced by index.json: a gc of the same layout running for another
// tag (checks :1 and :2 share one) must not take them, even with a zero grace period.
const pinned = new Map<string, number>();

/** Runs `fn` with the blobs of `fetched` (manifest, config, layers) pinned in `dir`. */
async function withPinned<T>(dir: string, fetched: ManifestBytes, fn: () => Promise<T>): Promise<T> {
  const digests = [
    fetched.descriptor.digest,
    fetched.manifest.config.digest,
    ...fetched.manifest.layers.map((l) => l.digest),
  ];
  const keys = digests.map((d) => `${dir}\0${d}`);
  for (const k of keys) pinned.set(k, (pinned.get(k) ?? 0) + 1);
  try {
    return await fn();
  } finally {
    for (const k of keys) {
      const n = (pinned.get(k) ?? 1) - 1;
      if (n <= 0) pinned.delete(k);
      else pinned.set(k, n);
    }
  }
}

function isPinned(dir: string, digest: string): boolean {
  return pinned.has(`${dir}\0${digest}`);
}

/**
 * Downloads the blobs (verified while streaming) into the store and, on the way, to destinations
 * lacking them; then the manifest, then moves the tag. Destination manifests are not touched here.
 */
async function storeVersion(
  deps: ArtifactSyncDeps,
  layout: OciLayout,
  ref: Reference,
  fetched: ManifestBytes,
  target: StoreTarget,
): Promise<StoreOutcome> {
  const { registry, signal } = deps;
  const { tag } = target;
  const out: StoreOutcome = { bytes: 0, teed: new Map() };
  for (const desc of [fetched.manifest.config, ...fetched.manifest.layers]) {
    if (await layout.blobHas(desc.digest)) continue;
    const item = `${tag} ${desc === fetched.manifest.config ? 'config' : 'layer'}`;
    const onProgress = deps.onProgress
      ? (p: { bytes: number; total: number }) => deps.onProgress?.(item, p.bytes, p.total)
      : undefined;
    // the destination HEADs run while the download request is answered
    const [stream, destinations] = await Promise.all([
      registry.blobGet(ref, desc, { signal, onProgress }),
      deps.config.pushDuringDownload ? destinationsLacking(deps, target, desc) : Promise.resolve([]),
    ]);
    const pushed = await teeBlob(deps, layout, desc, stream, destinations);
    for (const reference of pushed) out.teed.set(reference, (out.teed.get(reference) ?? 0) + desc.size);
    out.bytes += desc.size;
  }
  const manifestDesc: Descriptor = {
    mediaType: fetched.manifest.mediaType ?? fetched.descriptor.mediaType,
    digest: sha256Digest(fetched.bytes),
    size: fetched.bytes.length,
  };
  if (manifestDesc.digest !== fetched.descriptor.digest) {
    throw new OciError(
      OciErrorCode.DIGEST_MISMATCH,
      `manifest bytes hash to ${manifestDesc.digest}, not ${fetched.descriptor.digest}`,
    );
  }
  out.metadata = await checkLayerVersion(layout, target, fetched, formatReference(ref));
  if (target.served) {
    const { check, status, manifest } = target.served;
    await checkSyncRollback(check, layout, status, manifest, {
      digest: manifestDesc.digest,
      metadata: out.metadata,
    });
  }
  await layout.blobWrite(manifestDesc, Readable.from([fetched.bytes]), { signal });
  let dropped: Descriptor[] = [];
  await layout.indexUpdate((manifests) => {
    const plan = planTagUpdate(
      manifests,
      { ...manifestDesc, artifactType: fetched.manifest.artifactType },
      tag,
      deps.now().toISOString(),
      deps.config.keepVersions,
    );
    dropped = plan.dropped;
    return plan.manifests;
  });
  if (dropped.length > 0) {
    // GC grace counts from a blob's mtime: restart the clock for what just became unreferenced,
    // so a client that resolved a dropped version before this swap can finish its download.
    await touchVersions(layout, dropped);
    deps.logger.info({ tag, dropped: dropped.map((d) => d.digest) }, 'older versions dropped');
  }
  deps.logger.info(
    {
      artifact: formatReference(ref),
      digest: manifestDesc.digest,
      bytes: out.bytes,
      layer: fetched.manifest.layers[0]?.digest,
      teed: [...out.teed.keys()],
    },
    'stored new version',
  );
  return out;
}

// Signing on admission: each version the connected side stores gets the signature artifact cosign
// would make (`sha256-<hex>.sig`, in the same layout, so /v2/, the static tree, export and the pushes
// carry it like any tag). The payload's optional claims say where the version came from.
import { Readable } from 'node:stream';
import {
  buildSignatureArtifact,
  type Descriptor,
  type ManifestBytes,
  type OciLayout,
  parseReference,
  parseSignatureManifest,
  type SignatureLayer,
  type SigningKey,
  type StoredSignature,
  sha256Digest,
  signatureTag,
  signBytes,
  simpleSigningPayload,
  trustedSignerOf,
} from '@trivy-mirror/oci';
import type { Logger, Signing } from '@trivy-mirror/plugin-api';
import { ruleFor } from '../sync/artifact-rules.js';
import type { LayerMetadata } from '../metadata/layer-metadata.js';
import { readStoredMetadata } from '../metadata/record-stored.js';
import { planTagUpdate, STORED_AT_ANNOTATION } from '../store/store-versions.js';
import type { ArtifactTagStatus } from '../sync/sync-state.js';

/** The payload's optional claims (strings; `cosign verify -a KEY=VALUE` can require any of them). */
export const Provenance = {
  /** The upstream registry the version was fetched from (ghcr.io). */
  UpstreamRegistry: 'upstreamRegistry',
  /** Its repository there (aquasecurity/trivy-db). */
  UpstreamRepository: 'upstreamRepository',
  /** The tag it was fetched by (2). */
  UpstreamTag: 'upstreamTag',
  /** When the mirror stored it (ISO 8601). */
  FetchedAt: 'fetchedAt',
  /** metadata.json UpdatedAt / NextUpdate (trivy-db and trivy-java-db). */
  UpdatedAt: 'updatedAt',
  NextUpdate: 'nextUpdate',
  /** The trivy-mirror version that signed. */
  MirrorVersion: 'mirrorVersion',
} as const;

export interface SignVersionDeps {
  signing?: Signing;
  logger: Logger;
  now: () => Date;
  signal?: AbortSignal;
}

export interface SignVersionInput {
  /** Repository in the store (trivy-db). */
  name: string;
  current: ManifestBytes;
  /** The upstream reference it came from (ghcr.io/aquasecurity/trivy-db:2). */
  source: string;
  status: ArtifactTagStatus;
  /** metadata.json as read before the tag moved (a new db version). */
  metadata?: LayerMetadata;
}

/**
 * Signs the stored version unless our key has signed it already; keeps other keys' signatures
 * (a key rotation leaves the old key's valid for sites that still trust it). Returns the signature
 * tag written, or undefined when signing is off or nothing was needed.
 */
export async function signStoredVersion(
  deps: SignVersionDeps,
  layout: OciLayout,
  input: SignVersionInput,
): Promise<string | undefined> {
  const key = await deps.signing?.key();
  if (!key) return undefined;
  const digest = input.current.descriptor.digest;
  const tag = signatureTag(digest);
  const kept = await otherSignatures(layout, tag, key);
  if (kept === 'signed') return undefined;
  const reference = parseReference(input.source);
  const dockerReference =
    reference.kind === 'registry' ? `${reference.registry}/${reference.repository}` : input.name;
  const payload = simpleSigningPayload(dockerReference, digest, await provenance(deps, layout, input));
  const art = buildSignatureArtifact(digest, [
    ...kept,
    { payload, signature: signBytes(key, payload), keyIdHint: key.keyId },
  ]);
  const blobs = [...art.layers, { bytes: art.config, descriptor: art.configDescriptor }];
  const write = async () => {
    for (const b of blobs) {
      if (!(await layout.blobHas(b.descriptor.digest)))
        await layout.blobWrite(b.descriptor, Readable.from([b.bytes]), { signal: deps.signal });
    }
  };
  await write();
  await layout.blobWrite(art.manifestDescriptor, Readable.from([art.manifest]), { signal: deps.signal });
  const storedAt = deps.now().toISOString();
  await layout.indexUpdate(
    (manifests) => planTagUpdate(manifests, art.manifestDescriptor, tag, storedAt, 1).manifests,
  );
  // a gc of this layout for another tag (checks :1 and :2 share it) may have taken a blob written
  // before the index named it: written again, now that it is referenced
  await write();
  deps.logger.info({ digest, signature: tag, key: key.keyIdShort }, 'signed stored version');
  return tag;
}

/** The existing `.sig`'s signatures by other keys, or 'signed' when a valid one of ours is there. */
async function otherSignatures(
  layout: OciLayout,
  tag: string,
  key: SigningKey,
): Promise<StoredSignature[] | 'signed'> {
  const existing = await layout.manifestGet(tag).catch(() => undefined);
  if (!existing) return [];
  let layers: SignatureLayer[];
  try {
    layers = parseSignatureManifest(existing.bytes);
  } catch {
    return []; // not a signature artifact: replaced
  }
  const out: StoredSignature[] = [];
  for (const layer of layers) {
    const payload = await readSmallBlob(layout, layer.descriptor);
    if (!payload) continue;
    if (trustedSignerOf(payload, layer.signature, [key])) return 'signed';
    if (layer.keyIdHint === key.keyId) continue; // ours, no longer valid: signed again
    out.push({ payload, signature: layer.signature, keyIdHint: layer.keyIdHint });
  }
  return out;
}

/** A payload blob, or undefined when it is missing, too large or not its digest. */
export async function readSmallBlob(layout: OciLayout, descriptor: Descriptor): Promise<Buffer | undefined> {
  if (descriptor.size > MAX_PAYLOAD_BYTES) return undefined;
  try {
    const chunks: Buffer[] = [];
    for await (const c of layout.blobOpen(descriptor.digest)) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    return sha256Digest(bytes) === descriptor.digest ? bytes : undefined;
  } catch {
    return undefined;
  }
}

const MAX_PAYLOAD_BYTES = 1024 * 1024;

/** The provenance claims of the version: its upstream, when it was stored, its metadata.json times. */
async function provenance(
  deps: SignVersionDeps,
  layout: OciLayout,
  input: SignVersionInput,
): Promise<Record<string, string>> {
  const digest = input.current.descriptor.digest;
  const reference = parseReference(input.source);
  const out: Record<string, string> = {};
  if (reference.kind === 'registry') {
    out[Provenance.UpstreamRegistry] = reference.registry;
    out[Provenance.UpstreamRepository] = reference.repository;
    if (reference.tag) out[Provenance.UpstreamTag] = reference.tag;
  }
  const entry = (await layout.index()).manifests.find((m) => m.digest === digest);
  out[Provenance.FetchedAt] = entry?.annotations?.[STORED_AT_ANNOTATION] ?? deps.now().toISOString();
  let times: LayerMetadata | undefined = input.metadata;
  const layer = input.current.manifest.layers[0]?.digest;
  if (!times && ruleFor(input.name)?.hasMetadata) {
    // an unchanged version signed for the first time: its metadata.json from the store, once
    if (input.status.metadataRead !== layer)
      await readStoredMetadata(deps, layout, input.status, deps.signal);
    if (input.status.metadataRead === layer)
      times = { updatedAt: input.status.updatedAt, nextUpdate: input.status.nextUpdate };
  }
  if (times?.updatedAt) out[Provenance.UpdatedAt] = times.updatedAt;
  if (times?.nextUpdate) out[Provenance.NextUpdate] = times.nextUpdate;
  if (deps.signing?.mirrorVersion) out[Provenance.MirrorVersion] = deps.signing.mirrorVersion;
  return out;
}

// The signature artifact as cosign v2 stores it (pkg/oci/mutate over go-containerregistry's empty
// image): an OCI image manifest, tagged `sha256-<hex>.sig` in the signed artifact's repository, whose
// layers are payloads, each with its base64 signature in an annotation. Built byte for byte the way
// go-containerregistry serialises it, so a copy cosign makes and ours look alike.
import { sha256Digest } from '../digest.js';
import { DIGEST_RE } from '../reference.js';
import { type Descriptor, type ImageManifest, MediaType } from '../types.js';
import { SignatureError, SignatureErrorCode } from './errors.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** Which key signed, as a hint for naming a failure; not trusted (the signature covers the payload only). */
export const SIGNER_ANNOTATION = 'dev.trivy-mirror/key-id';
const OCI_CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';

/** One signature as stored: the payload blob and its base64 ASN.1 DER ECDSA signature. */
export interface StoredSignature {
  payload: Buffer;
  signature: string;
  /** The signer hint (SIGNER_ANNOTATION), when the signature carries one. */
  keyIdHint?: string;
}

export interface SignatureArtifact {
  /** `sha256-<hex>.sig`: the tag cosign looks up for the signed digest. */
  tag: string;
  manifest: Buffer;
  manifestDescriptor: Descriptor;
  config: Buffer;
  configDescriptor: Descriptor;
  /** The payload blobs, in layer order. */
  layers: { bytes: Buffer; descriptor: Descriptor }[];
}

/** The tag cosign stores the signatures of `manifestDigest` under. */
export function signatureTag(manifestDigest: string): string {
  if (!DIGEST_RE.test(manifestDigest) || !manifestDigest.startsWith('sha256:')) {
    throw new SignatureError(
      SignatureErrorCode.SIGNATURE_INVALID,
      `"${manifestDigest}" is not a sha256 digest`,
    );
  }
  return `${manifestDigest.replace(':', '-')}.sig`;
}

/** True for a tag that holds signatures (`sha256-<64 hex>.sig`). */
export function isSignatureTag(tag: string): boolean {
  return /^sha256-[a-f0-9]{64}\.sig$/.test(tag);
}

/** The digest a `sha256-<hex>.sig` tag signs, or undefined for another tag. */
export function signedDigestOfTag(tag: string): string | undefined {
  return isSignatureTag(tag) ? `sha256:${tag.slice(7, 71)}` : undefined;
}

/** go-containerregistry's ConfigFile for an empty image with these layers appended (field order kept). */
function configFor(diffIds: string[]): Buffer {
  const zero = '0001-01-01T00:00:00Z';
  return Buffer.from(
    JSON.stringify({
      architecture: '',
      created: zero,
      history: diffIds.map(() => ({ created: zero })),
      os: '',
      rootfs: { type: 'layers', diff_ids: diffIds },
      config: {},
    }),
  );
}

/** Builds the artifact holding `signatures` of `manifestDigest` (cosign appends one layer per signature). */
export function buildSignatureArtifact(
  manifestDigest: string,
  signatures: readonly StoredSignature[],
): SignatureArtifact {
  const tag = signatureTag(manifestDigest);
  const layers = signatures.map((s) => {
    const annotations: Record<string, string> = { [SIGNATURE_ANNOTATION]: s.signature };
    if (s.keyIdHint) annotations[SIGNER_ANNOTATION] = s.keyIdHint;
    const descriptor: Descriptor = {
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      size: s.payload.length,
      digest: sha256Digest(s.payload),
      annotations,
    };
    return { bytes: s.payload, descriptor };
  });
  const config = configFor(layers.map((l) => l.descriptor.digest));
  const configDescriptor: Descriptor = {
    mediaType: OCI_CONFIG_MEDIA_TYPE,
    size: config.length,
    digest: sha256Digest(config),
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: configDescriptor,
      layers: layers.map((l) => l.descriptor),
    }),
  );
  return {
    tag,
    manifest,
    manifestDescriptor: {
      mediaType: MediaType.OciManifest,
      size: manifest.length,
      digest: sha256Digest(manifest),
    },
    config,
    configDescriptor,
    layers,
  };
}

/** A signature layer of a parsed artifact: what to fetch (descriptor) and what it claims. */
export interface SignatureLayer {
  descriptor: Descriptor;
  signature: string;
  keyIdHint?: string;
}

/**
 * Parses a signature manifest (ours or cosign's) into its signature layers. Layers of other media
 * types (attestations, bundles) are skipped; a manifest with no signature layer is SIGNATURE_INVALID.
 */
export function parseSignatureManifest(bytes: Buffer): SignatureLayer[] {
  let manifest: ImageManifest;
  try {
    manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
  } catch (cause) {
    throw new SignatureError(SignatureErrorCode.SIGNATURE_INVALID, 'signature manifest is not JSON', {
      cause,
    });
  }
  if (!Array.isArray(manifest?.layers)) {
    throw new SignatureError(SignatureErrorCode.SIGNATURE_INVALID, 'signature manifest has no layers');
  }
  const out: SignatureLayer[] = [];
  for (const layer of manifest.layers) {
    const signature = layer?.annotations?.[SIGNATURE_ANNOTATION];
    if (layer?.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE || typeof signature !== 'string') continue;
    if (
      typeof layer.digest !== 'string' ||
      !DIGEST_RE.test(layer.digest) ||
      !Number.isSafeInteger(layer.size)
    ) {
      throw new SignatureError(
        SignatureErrorCode.SIGNATURE_INVALID,
        'signature layer has no valid digest and size',
      );
    }
    out.push({ descriptor: layer, signature, keyIdHint: layer.annotations?.[SIGNER_ANNOTATION] });
  }
  if (out.length === 0) {
    throw new SignatureError(
      SignatureErrorCode.SIGNATURE_INVALID,
      `signature manifest has no ${SIMPLE_SIGNING_MEDIA_TYPE} layer with a ${SIGNATURE_ANNOTATION} annotation`,
    );
  }
  return out;
}

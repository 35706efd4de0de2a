// The signature of a version stored in an OCI layout: its `sha256-<hex>.sig` tag in the same layout,
// verified with verifySignatureArtifact. Used by the inside (import, the daemon, store verify and the
// cache populator) wherever a layout holds what crossed the gap.
import type { OciLayout } from '../layout/layout.js';
import { signatureTag } from './artifact.js';
import type { TrustedKey } from './keys.js';
import { type VerifiedSignature, verifySignatureArtifact } from './verify.js';

/** Payloads are a few hundred bytes: a larger "signature" blob is not read into memory. */
const MAX_SIGNATURE_BLOB_BYTES = 1024 * 1024;

async function readSmall(layout: OciLayout, digest: string, size: number): Promise<Buffer> {
  if (size > MAX_SIGNATURE_BLOB_BYTES)
    throw new Error(`blob ${digest} is ${size} bytes: too large for a signature payload`);
  const chunks: Buffer[] = [];
  for await (const c of layout.blobOpen(digest)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The trusted signer of `manifestDigest` in `layout`; throws the SignatureError of
 * verifySignatureArtifact (UNSIGNED when the layout has no `.sig` for it).
 */
export async function verifyLayoutVersion(
  layout: OciLayout,
  manifestDigest: string,
  trusted: readonly TrustedKey[],
  what?: string,
): Promise<VerifiedSignature> {
  const sig = await layout.manifestGet(signatureTag(manifestDigest)).catch(() => undefined);
  return verifySignatureArtifact({
    manifestDigest,
    signatureManifest: sig?.bytes,
    readBlob: (d) => readSmall(layout, d.digest, d.size),
    trusted,
    what,
  });
}

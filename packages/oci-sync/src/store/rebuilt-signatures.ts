// The signature artifacts (`sha256-<hex>.sig`) of a rebuilt index.json. Their entries were lost with the
// torn index, and an inside daemon has no key to sign again: with `trust.require` its versions would
// then all be refused as unsigned. Each complete signature manifest found among the blobs is tagged
// again for the version its payload names, when the rebuilt index holds that version; of two for
// the same version (a key rotation wrote a new one), the one with more signatures, then the newer.
import {
  type Descriptor,
  type OciLayout,
  parseSignatureManifest,
  parseSimpleSigningPayload,
  type ScannedManifest,
  signatureTag,
} from '@trivy-mirror/oci';
import { readSmallBlob } from '../signing/version-signature.js';
import { planTagUpdate } from './store-versions.js';

interface Found {
  scanned: ScannedManifest;
  signatures: number;
}

/** `manifests` with a signature entry added for each of its versions a scanned signature artifact signs. */
export async function withRebuiltSignatures(
  layout: OciLayout,
  manifests: Descriptor[],
  scanned: (ScannedManifest & { complete: boolean })[],
): Promise<Descriptor[]> {
  const versions = new Set(manifests.map((m) => m.digest));
  const best = new Map<string, Found>();
  for (const m of scanned) {
    if (!m.complete) continue;
    let layers: ReturnType<typeof parseSignatureManifest>;
    try {
      layers = parseSignatureManifest(m.bytes);
    } catch {
      continue; // not a signature artifact
    }
    const signed = await signedDigest(layout, layers[0]!.descriptor);
    if (!signed || !versions.has(signed)) continue;
    const prev = best.get(signed);
    if (
      !prev ||
      layers.length > prev.signatures ||
      (layers.length === prev.signatures && m.mtimeMs > prev.scanned.mtimeMs)
    ) {
      best.set(signed, { scanned: m, signatures: layers.length });
    }
  }
  let out = manifests;
  for (const [digest, { scanned: m }] of best) {
    const storedAt = new Date(m.mtimeMs).toISOString();
    out = planTagUpdate(out, m.descriptor, signatureTag(digest), storedAt, 1).manifests;
  }
  return out;
}

/** The manifest digest a signature payload names, or undefined when it cannot be read. */
async function signedDigest(layout: OciLayout, payload: Descriptor): Promise<string | undefined> {
  const bytes = await readSmallBlob(layout, payload);
  if (!bytes) return undefined;
  try {
    return parseSimpleSigningPayload(bytes).critical.image['docker-manifest-digest'];
  } catch {
    return undefined;
  }
}

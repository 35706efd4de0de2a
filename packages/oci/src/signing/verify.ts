// Who signed an artifact: finds a signature by a trusted key over a payload for exactly this
// manifest digest, or says precisely why not (unsigned, unknown key, bad signature, another digest).
import { sha256Digest } from '../digest.js';
import { type SignatureLayer, parseSignatureManifest } from './artifact.js';
import { SignatureError, SignatureErrorCode } from './errors.js';
import type { TrustedKey } from './keys.js';
import { parseSimpleSigningPayload, type SimpleSigningPayload } from './payload.js';
import { trustedSignerOf } from './sign.js';

export interface VerifiedSignature {
  key: TrustedKey;
  payload: SimpleSigningPayload;
  /** The payload's optional claims (the mirror's provenance), strings only. */
  provenance: Record<string, string>;
}

export interface VerifyArtifactOptions {
  /** The manifest digest of the artifact whose signature is checked. */
  manifestDigest: string;
  /** Bytes of the `sha256-<hex>.sig` manifest, or undefined when there is none. */
  signatureManifest: Buffer | undefined;
  /** Reads a payload blob; its digest is checked here. */
  readBlob: (descriptor: SignatureLayer['descriptor']) => Promise<Buffer>;
  trusted: readonly TrustedKey[];
  /** Names the artifact in messages (e.g. "trivy-db:2"). */
  what?: string;
}

function stringClaims(optional: SimpleSigningPayload['optional']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(optional ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Returns the first signature by a trusted key whose payload names `manifestDigest`; otherwise throws
 * a SignatureError: UNSIGNED (no .sig), DIGEST_MISMATCH (trusted signature of another digest),
 * BAD_SIGNATURE (says it is by a trusted key, does not verify: changed), UNKNOWN_KEY (anything else).
 */
export async function verifySignatureArtifact(options: VerifyArtifactOptions): Promise<VerifiedSignature> {
  const { manifestDigest } = options;
  const what = options.what ? `${options.what} (${manifestDigest})` : manifestDigest;
  if (!options.signatureManifest) {
    throw new SignatureError(SignatureErrorCode.UNSIGNED, `${what} is unsigned: no signature found`, {
      target: manifestDigest,
    });
  }
  const layers = parseSignatureManifest(options.signatureManifest);
  const failures: SignatureError[] = [];
  for (const layer of layers) {
    const payload = await options.readBlob(layer.descriptor);
    if (sha256Digest(payload) !== layer.descriptor.digest) {
      failures.push(
        new SignatureError(
          SignatureErrorCode.BAD_SIGNATURE,
          `${what}: the signature payload does not hash to its digest ${layer.descriptor.digest} (changed)`,
          { target: manifestDigest },
        ),
      );
      continue;
    }
    try {
      return verifyPayload(payload, layer, options, what);
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      failures.push(err);
    }
  }
  // The most telling failure: another digest, then a changed signature, then an unknown key.
  const rank = [
    SignatureErrorCode.DIGEST_MISMATCH,
    SignatureErrorCode.BAD_SIGNATURE,
    SignatureErrorCode.SIGNATURE_INVALID,
  ];
  failures.sort((a, b) => rankOf(rank, a.code) - rankOf(rank, b.code));
  throw failures[0];
}

function rankOf(rank: string[], code: string): number {
  const i = rank.indexOf(code);
  return i < 0 ? rank.length : i;
}

function verifyPayload(
  payload: Buffer,
  layer: SignatureLayer,
  options: VerifyArtifactOptions,
  what: string,
): VerifiedSignature {
  const key = trustedSignerOf(payload, layer.signature, options.trusted);
  if (!key) {
    const hinted = layer.keyIdHint && options.trusted.find((k) => k.keyId === layer.keyIdHint);
    if (hinted) {
      throw new SignatureError(
        SignatureErrorCode.BAD_SIGNATURE,
        `${what}: the signature by trusted key ${hinted.keyIdShort} (${hinted.file}) does not match its payload (changed)`,
        { target: options.manifestDigest },
      );
    }
    const by = layer.keyIdHint
      ? ` (it names key ${layer.keyIdHint.replace('sha256:', '').slice(0, 16)})`
      : '';
    throw new SignatureError(
      SignatureErrorCode.UNKNOWN_KEY,
      `${what}: no trusted key verifies its signature${by}; signed by another key, or changed`,
      { target: options.manifestDigest },
    );
  }
  const parsed = parseSimpleSigningPayload(payload);
  const signed = parsed.critical.image['docker-manifest-digest'];
  if (signed !== options.manifestDigest) {
    throw new SignatureError(
      SignatureErrorCode.DIGEST_MISMATCH,
      `${what}: the signature by ${key.keyIdShort} (${key.file}) is for another digest, ${signed}`,
      { target: options.manifestDigest },
    );
  }
  return { key, payload: parsed, provenance: stringClaims(parsed.optional) };
}

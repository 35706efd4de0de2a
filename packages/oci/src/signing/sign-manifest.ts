// Signing one stored version: payload, signature and the `sha256-<hex>.sig` artifact in one call.
import { buildSignatureArtifact, type SignatureArtifact } from './artifact.js';
import type { SigningKey } from './keys.js';
import { simpleSigningPayload } from './payload.js';
import { signBytes } from './sign.js';

export interface SignManifestOptions {
  /** registry/repository the payload names (cosign's critical.identity.docker-reference). */
  dockerReference: string;
  manifestDigest: string;
  /** Provenance claims for the payload's optional part. */
  optional?: Record<string, string>;
}

/** The signature artifact of `manifestDigest`, signed by `key`, ready to store under its tag. */
export function signManifest(key: SigningKey, options: SignManifestOptions): SignatureArtifact {
  const payload = simpleSigningPayload(options.dockerReference, options.manifestDigest, options.optional);
  return buildSignatureArtifact(options.manifestDigest, [
    { payload, signature: signBytes(key, payload), keyIdHint: key.keyId },
  ]);
}

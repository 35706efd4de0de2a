// Cosign-compatible signing and verification with a key (ECDSA P-256, node:crypto): the image
// signature artifact cosign v2 stores as `sha256-<hex>.sig`, and `cosign sign-blob` signatures.
export * from './errors.js';
export {
  keyIdOf,
  loadSigningKey,
  loadTrustedKey,
  loadTrustedKeys,
  type SigningKey,
  type TrustedKey,
} from './keys.js';
export {
  COSIGN_SIGNATURE_TYPE,
  parseSimpleSigningPayload,
  type SimpleSigningPayload,
  simpleSigningPayload,
} from './payload.js';
export {
  buildSignatureArtifact,
  isSignatureTag,
  parseSignatureManifest,
  SIGNATURE_ANNOTATION,
  type SignatureArtifact,
  type SignatureLayer,
  SIGNER_ANNOTATION,
  signatureTag,
  signedDigestOfTag,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type StoredSignature,
} from './artifact.js';
export { signBytes, trustedSignerOf } from './sign.js';
export { type SignManifestOptions, signManifest } from './sign-manifest.js';
export { type VerifiedSignature, type VerifyArtifactOptions, verifySignatureArtifact } from './verify.js';
export { signBlob, verifyBlob } from './blob.js';
export { verifyLayoutVersion } from './layout-verify.js';

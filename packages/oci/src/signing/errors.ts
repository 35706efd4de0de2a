// Coded errors of signing and verification: callers (import, the inside daemon, store verify) match
// on `code` to say what failed, never on the text.

export const SignatureErrorCode = {
  /** The signing key file is readable (or writable) by group or others. */
  SIGNING_KEY_PERMISSIONS: 'SIGNING_KEY_PERMISSIONS',
  /** The signing key cannot be read or is not a PEM ECDSA P-256 private key. */
  SIGNING_KEY_INVALID: 'SIGNING_KEY_INVALID',
  /** A trusted key cannot be read or is not a PEM ECDSA P-256 public key (SPKI). */
  TRUSTED_KEY_INVALID: 'TRUSTED_KEY_INVALID',
  /** No signature at all for the artifact. */
  UNSIGNED: 'UNSIGNED',
  /** Signed, but by a key that is not trusted. */
  UNKNOWN_KEY: 'UNKNOWN_KEY',
  /** Names a trusted key, but the signature does not match the payload (changed on the way). */
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  /** A valid signature by a trusted key over a payload for another manifest digest. */
  DIGEST_MISMATCH: 'DIGEST_MISMATCH',
  /** The signature artifact or payload is not in the shape cosign writes. */
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
} as const;
export type SignatureErrorCode = (typeof SignatureErrorCode)[keyof typeof SignatureErrorCode];

export class SignatureError extends Error {
  readonly code: SignatureErrorCode;
  /** The key file, manifest digest or file the error concerns. */
  readonly target?: string;

  constructor(code: SignatureErrorCode, message: string, options: { cause?: unknown; target?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SignatureError';
    this.code = code;
    this.target = options.target;
  }
}

export function isSignatureError(err: unknown, code?: SignatureErrorCode): err is SignatureError {
  return err instanceof SignatureError && (code === undefined || err.code === code);
}

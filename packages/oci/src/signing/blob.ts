// Blob signatures compatible with `cosign sign-blob --key` / `cosign verify-blob --key`: the
// signature file is the base64 ECDSA-SHA256 signature of the file's bytes, nothing else.
import { SignatureError, SignatureErrorCode } from './errors.js';
import type { SigningKey, TrustedKey } from './keys.js';
import { signBytes, trustedSignerOf } from './sign.js';

/** What `cosign sign-blob --key K --output-signature F` writes to F for `data`. */
export function signBlob(key: SigningKey, data: Buffer): string {
  return signBytes(key, data);
}

/** The trusted key that signed `data`; UNKNOWN_KEY or BAD_SIGNATURE (with `what` named) otherwise. */
export function verifyBlob(
  data: Buffer,
  signature: string,
  trusted: readonly TrustedKey[],
  what = 'blob',
): TrustedKey {
  const key = trustedSignerOf(data, signature, trusted);
  if (key) return key;
  // A blob signature carries no key hint: either the key is not trusted or the bytes changed.
  throw new SignatureError(
    trusted.length === 0 ? SignatureErrorCode.UNKNOWN_KEY : SignatureErrorCode.BAD_SIGNATURE,
    `${what}: its signature does not verify with ${trusted.length === 0 ? 'any key (none trusted)' : `the trusted keys (${trusted.map((k) => k.keyIdShort).join(', ')})`}: changed, or signed by another key`,
    { target: what },
  );
}

// Signing and verifying bytes the way cosign does with a key: ECDSA over SHA-256, the signature
// ASN.1 DER, carried base64. The same for an image payload and for `cosign sign-blob`.
import { sign, verify } from 'node:crypto';
import type { SigningKey, TrustedKey } from './keys.js';

/** The base64 ASN.1 DER ECDSA-SHA256 signature of `data`, as cosign writes it (no newline). */
export function signBytes(key: SigningKey, data: Buffer): string {
  return sign('sha256', data, { key: key.privateKey, dsaEncoding: 'der' }).toString('base64');
}

/** Decodes a base64 signature; surrounding whitespace (a file's newline) is ignored. */
function decodeSignature(signature: string): Buffer | undefined {
  const text = signature.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

/** The trusted key whose signature over `data` `signature` is, or undefined. */
export function trustedSignerOf(
  data: Buffer,
  signature: string,
  trusted: readonly TrustedKey[],
): TrustedKey | undefined {
  const raw = decodeSignature(signature);
  if (!raw) return undefined;
  return trusted.find((k) => {
    try {
      return verify('sha256', data, { key: k.publicKey, dsaEncoding: 'der' }, raw);
    } catch {
      return false;
    }
  });
}

// Loading the mirror's signing key and the inside's trusted keys. ECDSA P-256 only: what
// `cosign generate-key-pair` and `openssl ecparam -name prime256v1` make, and what cosign verifies.
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { SignatureError, SignatureErrorCode } from './errors.js';

export interface TrustedKey {
  publicKey: KeyObject;
  /** `sha256:<hex>` of the key's SPKI DER: the same for the same key wherever it is stored. */
  keyId: string;
  /** The key id shortened for people: the first 16 hex digits. */
  keyIdShort: string;
  /** The file the key was read from (its base name is what /status and logs show). */
  file: string;
  /** The public key as PEM SPKI, what `cosign verify --key` takes. */
  publicKeyPem: string;
}

export interface SigningKey extends TrustedKey {
  privateKey: KeyObject;
}

/** Group and other permission bits: none may be set on a private key file. */
const SHARED_BITS = 0o077;

function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

function describeKey(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve ? `${key.asymmetricKeyType} ${curve}` : String(key.asymmetricKeyType);
}

export function keyIdOf(publicKey: KeyObject): { keyId: string; keyIdShort: string } {
  const hex = createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
  return { keyId: `sha256:${hex}`, keyIdShort: hex.slice(0, 16) };
}

function trustedKeyOf(publicKey: KeyObject, file: string): TrustedKey {
  return {
    publicKey,
    ...keyIdOf(publicKey),
    file,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * Reads a PEM ECDSA P-256 private key (PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY", unencrypted).
 * A file that group or others may read is refused before it is read: the key would already be
 * exposed, and a service that starts anyway teaches nobody to fix it.
 */
export async function loadSigningKey(file: string): Promise<SigningKey> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (cause) {
    throw new SignatureError(SignatureErrorCode.SIGNING_KEY_INVALID, `signing key ${file}: cannot read it`, {
      cause,
      target: file,
    });
  }
  if ((mode & SHARED_BITS) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new SignatureError(
      SignatureErrorCode.SIGNING_KEY_PERMISSIONS,
      `signing key ${file} has mode ${octal}: group or others may read it; run: chmod 600 ${file} (owned by the service user)`,
      { target: file },
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: await readFile(file), format: 'pem' });
  } catch (cause) {
    throw new SignatureError(
      SignatureErrorCode.SIGNING_KEY_INVALID,
      `signing key ${file} is not an unencrypted PEM private key (PKCS#8 or SEC1 EC); ${(cause as Error).message}`,
      { cause, target: file },
    );
  }
  if (!isP256(privateKey)) {
    throw new SignatureError(
      SignatureErrorCode.SIGNING_KEY_INVALID,
      `signing key ${file} is ${describeKey(privateKey)}, not ECDSA P-256 (prime256v1); make one with: openssl ecparam -name prime256v1 -genkey -noout -out ${basename(file)}`,
      { target: file },
    );
  }
  return { privateKey, ...trustedKeyOf(createPublicKey(privateKey), file) };
}

/** Reads a PEM ECDSA P-256 public key (SPKI "PUBLIC KEY", as `cosign generate-key-pair` writes cosign.pub). */
export async function loadTrustedKey(file: string): Promise<TrustedKey> {
  let publicKey: KeyObject;
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (cause) {
    throw new SignatureError(
      SignatureErrorCode.TRUSTED_KEY_INVALID,
      `trusted key ${file} cannot be read: ${(cause as Error).message}`,
      { cause, target: file },
    );
  }
  try {
    // createPublicKey would derive one from a private key: a private key has no place on the inside.
    if (pem.includes('PRIVATE KEY'))
      throw new Error('it holds a private key; give the public key (cosign.pub)');
    publicKey = createPublicKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new SignatureError(
      SignatureErrorCode.TRUSTED_KEY_INVALID,
      `trusted key ${file} is not a PEM public key (SPKI "PUBLIC KEY"); ${(cause as Error).message}`,
      { cause, target: file },
    );
  }
  if (publicKey.asymmetricKeyType === undefined || !isP256(publicKey)) {
    throw new SignatureError(
      SignatureErrorCode.TRUSTED_KEY_INVALID,
      `trusted key ${file} is ${describeKey(publicKey)}, not ECDSA P-256 (prime256v1)`,
      { target: file },
    );
  }
  return trustedKeyOf(publicKey, file);
}

/** Reads every trusted key; the same key listed twice is kept once. */
export async function loadTrustedKeys(files: readonly string[]): Promise<TrustedKey[]> {
  const keys = await Promise.all(files.map((f) => loadTrustedKey(f)));
  const seen = new Set<string>();
  return keys.filter((k) => !seen.has(k.keyId) && seen.add(k.keyId));
}

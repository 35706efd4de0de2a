// Who signed a version in a layout: its `sha256-<hex>.sig` artifact (what export carries and cosign
// reads) verified against the trusted keys (top-level `trust.keys`). The result names the signer (key
// id, key file) or what failed: unsigned, unknown key, bad signature, payload for another digest.
import { basename } from 'node:path';
import {
  isSignatureError,
  type OciLayout,
  SignatureErrorCode,
  type TrustedKey,
  verifyLayoutVersion,
} from '@trivy-mirror/oci';
import { describeError } from '@trivy-mirror/plugin-api';

/** The outcome of one version's check, as /status, `store verify` and `import` show it. */
export interface VersionTrust {
  /** "trivy-db:2" */
  what: string;
  digest: string;
  /** Set when a trusted key verified a signature for exactly this digest. */
  signer?: { keyId: string; keyIdShort: string; keyFile: string };
  /** Set otherwise: the SignatureError code (UNSIGNED, UNKNOWN_KEY, BAD_SIGNATURE, DIGEST_MISMATCH…). */
  failure?: { code: string; message: string };
}

/** The signer of `digest` in `layout`, or the failure; never throws for a signature problem. */
export async function versionTrust(
  layout: OciLayout,
  what: string,
  digest: string,
  trusted: readonly TrustedKey[],
): Promise<VersionTrust> {
  try {
    const verified = await verifyLayoutVersion(layout, digest, trusted, what);
    const { keyId, keyIdShort, file } = verified.key;
    return { what, digest, signer: { keyId, keyIdShort, keyFile: basename(file) } };
  } catch (err) {
    const code = isSignatureError(err) ? err.code : SignatureErrorCode.SIGNATURE_INVALID;
    return { what, digest, failure: { code, message: describeError(err) } };
  }
}

/** "3f2a… (trusted.pub)" / "unsigned" / "NOT TRUSTED [UNKNOWN_KEY] …" for tables and report lines. */
export function describeTrust(t: VersionTrust): string {
  if (t.signer) return `${t.signer.keyIdShort} (${t.signer.keyFile})`;
  if (t.failure?.code === SignatureErrorCode.UNSIGNED) return 'unsigned';
  return `NOT TRUSTED [${t.failure?.code ?? 'unknown'}] ${t.failure?.message ?? ''}`;
}

// The payload cosign signs for an image: "simple signing" (containers/image's format, as
// sigstore/sigstore pkg/signature/payload writes it). The signature covers these exact bytes.
import { SignatureError, SignatureErrorCode } from './errors.js';

export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

export interface SimpleSigningPayload {
  critical: {
    identity: { 'docker-reference': string };
    image: { 'docker-manifest-digest': string };
    type: string;
  };
  /** Free-form claims; cosign prints them and checks them only when asked (-a key=value). */
  optional: Record<string, unknown> | null;
}

function sortedKeys(value: Record<string, unknown>): Record<string, unknown> {
  // Go's encoding/json writes map keys sorted; cosign's payloads look the same from here.
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, value[k]]),
  );
}

/**
 * The payload bytes for `dockerReference` (registry/repository, no tag) at `manifestDigest`, in the
 * field order cosign writes. `optional` values are strings (cosign's -a takes strings only).
 */
export function simpleSigningPayload(
  dockerReference: string,
  manifestDigest: string,
  optional?: Record<string, string>,
): Buffer {
  const payload: SimpleSigningPayload = {
    critical: {
      identity: { 'docker-reference': dockerReference },
      image: { 'docker-manifest-digest': manifestDigest },
      type: COSIGN_SIGNATURE_TYPE,
    },
    optional: optional && Object.keys(optional).length > 0 ? sortedKeys(optional) : null,
  };
  return Buffer.from(JSON.stringify(payload));
}

/** Parses payload bytes; throws SIGNATURE_INVALID unless they are a cosign image signature payload. */
export function parseSimpleSigningPayload(bytes: Buffer): SimpleSigningPayload {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new SignatureError(SignatureErrorCode.SIGNATURE_INVALID, 'signature payload is not JSON', {
      cause,
    });
  }
  const p = value as Partial<SimpleSigningPayload> | null;
  const critical = p?.critical;
  if (
    typeof critical?.identity?.['docker-reference'] !== 'string' ||
    typeof critical.image?.['docker-manifest-digest'] !== 'string' ||
    critical.type !== COSIGN_SIGNATURE_TYPE
  ) {
    throw new SignatureError(
      SignatureErrorCode.SIGNATURE_INVALID,
      `signature payload is not a "${COSIGN_SIGNATURE_TYPE}" payload (critical.identity, critical.image, critical.type)`,
    );
  }
  const optional = p?.optional;
  return {
    critical: critical as SimpleSigningPayload['critical'],
    optional: optional && typeof optional === 'object' && !Array.isArray(optional) ? optional : null,
  };
}

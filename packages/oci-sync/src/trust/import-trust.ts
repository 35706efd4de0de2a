// The trust check of an import, after the digests and before anything is copied: every version the
// export carries (each tagged manifest but the `.sig` artifacts themselves) must be signed by a trusted
// key for its exact digest. With `trust.require` one failure refuses the whole import (TRUST_REFUSED,
// every failure named); without it the outcome is only reported.
import { isSignatureTag } from '@trivy-mirror/oci';
import { Annotation, type TrustedKey } from '@trivy-mirror/oci';
import { MirrorError } from '@trivy-mirror/plugin-api';
import type { PlannedImport } from '../store-commands/planned-import.js';
import { type VersionTrust, versionTrust } from './version-trust.js';

export const TRUST_REFUSED = 'TRUST_REFUSED';

export interface TrustPolicy {
  keys: readonly TrustedKey[];
  /** Admit only what a trusted key signed. */
  require: boolean;
}

/** The signer (or failure) of every version in the export's layouts. */
export async function checkImportTrust(
  planned: PlannedImport,
  keys: readonly TrustedKey[],
): Promise<VersionTrust[]> {
  const out: VersionTrust[] = [];
  for (const { repository, src, plan } of planned.layouts) {
    for (const m of plan.manifests) {
      const tag = m.annotations?.[Annotation.RefName];
      if (!tag || isSignatureTag(tag)) continue;
      out.push(await versionTrust(src, `${repository}:${tag}`, m.digest, keys));
    }
  }
  return out;
}

/** The refusal of an import whose versions are not all trusted: names each failure, changes nothing. */
export function importTrustError(
  inDir: string,
  failures: { what: string; code: string; message: string }[],
): MirrorError {
  return new MirrorError(
    TRUST_REFUSED,
    `import of ${inDir} refused, nothing changed: trust.require is set and ${failures.length} ` +
      `version(s) are not signed by a trusted key: ${failures.map((f) => `[${f.code}] ${f.message}`).join('; ')}`,
  );
}

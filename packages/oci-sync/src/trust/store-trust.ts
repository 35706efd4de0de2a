// Who signed each served version of a store (`store verify`): every tagged manifest but the `.sig`
// artifacts, checked against the trusted keys (version-trust.ts).
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Annotation, isSignatureTag, OciLayout, type TrustedKey } from '@trivy-mirror/oci';
import { findLayouts } from '../store-commands/store-transfer.js';
import { type VersionTrust, versionTrust } from './version-trust.js';

export async function storeTrust(root: string, keys: readonly TrustedKey[]): Promise<VersionTrust[]> {
  const single = await stat(join(root, 'oci-layout')).then(
    (s) => s.isFile(),
    () => false,
  );
  const out: VersionTrust[] = [];
  for (const repository of single ? [''] : await findLayouts(root)) {
    const layout = await OciLayout.open(join(root, repository)).catch(() => undefined);
    const index = await layout?.index().catch(() => undefined);
    if (!layout || !index) continue; // verifyStore names it
    for (const m of index.manifests) {
      const tag = m.annotations?.[Annotation.RefName];
      if (!tag || isSignatureTag(tag)) continue;
      out.push(await versionTrust(layout, `${repository || '.'}:${tag}`, m.digest, keys));
    }
  }
  return out;
}

// A part that failed because the store's copy is bad (a layer that does not hash to its digest or does
// not unpack, a blob gone, a torn index.json) is announced as `artifact.damaged`: oci-sync checks it,
// quarantines it and fetches it again, instead of this part failing on every run. The populator does
// not judge: oci-sync hashes the blob before it moves anything.
import { isOciError } from '@trivy-mirror/oci';
import { type ArtifactDamagedEvent, errorCode } from '@trivy-mirror/plugin-api';
import type { PartResult } from './populate-cache-dir.js';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** The damage a failed part points at in the store, if its error says the store's copy is bad. */
export function storeDamageOf(p: PartResult): ArtifactDamagedEvent | undefined {
  const err = p.error;
  if (p.status !== 'failed' || !p.repository || !err) return undefined;
  const base = { repository: p.repository, reason: err.message, reporter: 'cache-populator' };
  if (isOciError(err, 'DIGEST_MISMATCH', 'SIZE_MISMATCH')) {
    // a layer names itself; a manifest that failed to verify names its layout: look at the whole tag
    return { ...base, digest: err.target && DIGEST_RE.test(err.target) ? err.target : p.layerDigest };
  }
  if (isOciError(err, 'LAYOUT_INVALID')) return base;
  if (!p.layerDigest) return undefined;
  const path = (err as NodeJS.ErrnoException).path ?? '';
  if (errorCode(err) === 'ENOENT' && path.endsWith(p.layerDigest.slice('sha256:'.length))) {
    return { ...base, digest: p.layerDigest, reason: 'missing from the store' };
  }
  // gzip or tar garbage in a layer the store verified when it stored it: maybe bit rot
  if (errorCode(err) === 'ARCHIVE_INVALID' && /corrupt archive/.test(err.message)) {
    return { ...base, digest: p.layerDigest };
  }
  return undefined;
}

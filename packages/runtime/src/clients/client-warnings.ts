// What a Trivy client did that will hurt it: a checks tag its version does not read, or a 304 for VEX
// that its version answers by wiping its VEX cache. Facts from Trivy's releases.
import { versionBelow, versionParts } from './client-request.js';

/** Trivy ≥ 0.69 reads trivy-checks:2; older releases read trivy-checks:1. */
export const CHECKS_V2_SINCE = '0.69.0';
/** Trivy v0.54–v0.72 wipe their VEX cache when the VEX host answers 304 (fixed in v0.73). */
export const VEX_304_FIXED = '0.73.0';

/** What the warnings read of one client. */
export interface ClientUse {
  client: string;
  version: string;
  artifacts: Partial<Record<string, { tags: readonly string[]; notModified: number }>>;
}

export function clientWarnings(use: ClientUse): string[] {
  if (use.client !== 'trivy') return [];
  const who = `trivy ${use.version}`;
  const out: string[] = [];
  const checksTags = use.artifacts['trivy-checks']?.tags ?? [];
  // `dev` and other unreadable versions get no checks warning either way
  const known = versionParts(use.version) !== undefined;
  const old = versionBelow(use.version, CHECKS_V2_SINCE);
  const isNew = known && !old;
  if (isNew && checksTags.includes('1'))
    out.push(
      `${who} pulled trivy-checks:1, which Trivy ≥ 0.69 no longer uses: point --checks-bundle-repository at :2`,
    );
  if (old && checksTags.includes('2'))
    out.push(
      `${who} pulled trivy-checks:2, which Trivy < 0.69 cannot read: point --checks-bundle-repository at :1 (or upgrade Trivy)`,
    );
  if ((use.artifacts.vex?.notModified ?? 0) > 0 && versionBelow(use.version, VEX_304_FIXED))
    out.push(
      `${who} got a 304 for VEX: Trivy ≤ 0.72 wipes its VEX cache on a 304; set plugins.vexhub-mirror.etag: false (or upgrade Trivy to ≥ 0.73)`,
    );
  return out;
}

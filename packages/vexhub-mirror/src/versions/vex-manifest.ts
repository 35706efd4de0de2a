// The repository manifest (vex-repository.json, vex-repo-spec 0.1): checks what Trivy needs, rewrites locations.
import { MirrorError } from '@trivy-mirror/plugin-api';

/** Trivy requires exactly this spec version until the spec reaches 1.0. */
export const SPEC_VERSION = '0.1';

export interface ManifestVersion {
  spec_version: string;
  locations: { url: string }[];
  update_interval?: string;
  [key: string]: unknown;
}

export interface RepositoryManifest {
  name?: string;
  description?: string;
  versions: ManifestVersion[];
  [key: string]: unknown;
}

import { goDurationSeconds } from './go-duration.js';

// Go's time.ParseDuration, which Trivy uses for update_interval.
const GO_DURATION_RE = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$|^[-+]?0$/;

/**
 * Parses and checks a manifest. `where` (optional) prefixes errors with the repository and URL.
 * Returns the manifest and the version Trivy would select.
 */
export function parseManifest(
  text: string,
  where = '',
): { manifest: RepositoryManifest; version: ManifestVersion } {
  const fail = (msg: string, cause?: unknown) =>
    new MirrorError('VEX_MANIFEST_INVALID', `${where ? `${where}: ` : ''}vex-repository.json ${msg}`, {
      cause,
    });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw fail('is not valid JSON', err);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw fail('is not a JSON object');
  const manifest = doc as RepositoryManifest;
  if (!Array.isArray(manifest.versions)) throw fail('has no "versions" array');
  for (const [i, v] of manifest.versions.entries()) {
    if (!v || typeof v !== 'object' || typeof v.spec_version !== 'string') {
      throw fail(`versions[${i}] has no string "spec_version"`);
    }
  }
  const version = manifest.versions.find((v) => v.spec_version === SPEC_VERSION);
  if (!version) {
    const found = manifest.versions.map((v) => JSON.stringify(v.spec_version)).join(', ') || 'none';
    throw fail(
      `has no version with spec_version "${SPEC_VERSION}" (found: ${found}); Trivy would not use it`,
    );
  }
  if (!Array.isArray(version.locations) || version.locations.length === 0) {
    throw fail(`version ${SPEC_VERSION} has no locations`);
  }
  for (const [i, l] of version.locations.entries()) {
    if (!l || typeof l !== 'object' || typeof l.url !== 'string' || l.url === '') {
      throw fail(`version ${SPEC_VERSION} locations[${i}] has no "url"`);
    }
  }
  if (version.update_interval === undefined) {
    throw fail(
      `version ${SPEC_VERSION} has no update_interval (Trivy would download the repository again on every scan)`,
    );
  }
  if (typeof version.update_interval !== 'string' || !GO_DURATION_RE.test(version.update_interval)) {
    throw fail(
      `version ${SPEC_VERSION} update_interval ${JSON.stringify(version.update_interval)} is not a Go duration`,
    );
  }
  // Trivy (pkg/vex/repo) re-checks a repository once UpdatedAt + update_interval has passed: zero, negative
  // or missing means on every scan, which would turn each scan into a download of the archive.
  const seconds = goDurationSeconds(version.update_interval);
  if (seconds === undefined || seconds <= 0) {
    throw fail(
      `version ${SPEC_VERSION} update_interval ${JSON.stringify(version.update_interval)} is not a positive ` +
        'duration (Trivy would download the repository again on every scan)',
    );
  }
  return { manifest, version };
}

/**
 * Every field kept verbatim except the locations of the spec 0.1 version(s), which point at the mirror.
 * Other spec versions are left as they are: Trivy ignores them.
 */
export function rewriteManifest(manifest: RepositoryManifest, location: string): Buffer {
  const copy = structuredClone(manifest);
  for (const v of copy.versions) {
    if (v.spec_version === SPEC_VERSION) v.locations = [{ url: location }];
  }
  return Buffer.from(`${JSON.stringify(copy, null, 2)}\n`);
}

// metadata.json files as Trivy reads and writes them (trivy v0.74: pkg/db, pkg/javadb, pkg/policy),
// and Trivy's own "needs update" rules, so tests and health checks judge a cache the way Trivy does.
import { ArchiveInvalidError } from '@trivy-mirror/plugin-api';

/** db/metadata.json and java-db/metadata.json (Go time.Time fields as RFC 3339 strings). */
export interface DbMetadata {
  Version: number;
  NextUpdate?: string;
  UpdatedAt?: string;
  DownloadedAt?: string;
  [key: string]: unknown;
}

/** policy/metadata.json (pkg/policy.Metadata). */
export interface ChecksMetadata {
  Digest: string;
  DownloadedAt: string;
  MajorVersion?: number;
  CustomBuild?: boolean;
}

/** Go's zero time, which Trivy treats as "never downloaded". */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * RFC 3339 in UTC with milliseconds, e.g. `2026-11-25T20:00:00.123Z`. Go's time.Time UnmarshalJSON
 * accepts RFC 3339 with any fractional precision, so this is what Trivy itself would parse.
 */
export function formatGoTime(date: Date): string {
  return date.toISOString();
}

/** Parses an RFC 3339 time as Go would; the zero time and garbage give undefined. */
export function parseGoTime(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value === GO_ZERO_TIME || value.startsWith('0001-01-01')) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/**
 * The tarball's metadata.json with `DownloadedAt` set to the population time. Every other key is kept
 * verbatim (strings are copied as they are; key order is preserved). Ends with a newline like Go's
 * json.Encoder.
 */
export function dbMetadataWithDownloadedAt(
  raw: Buffer,
  entryName: string,
  now: Date,
): { text: string; meta: DbMetadata } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new ArchiveInvalidError(`${entryName} in the layer is not valid JSON`, err);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ArchiveInvalidError(`${entryName} in the layer is not a JSON object`);
  }
  const meta = parsed as DbMetadata;
  if (typeof meta.Version !== 'number') {
    throw new ArchiveInvalidError(`${entryName} in the layer has no numeric Version`);
  }
  meta.DownloadedAt = formatGoTime(now);
  return { text: `${JSON.stringify(meta)}\n`, meta };
}

/**
 * MajorVersion as Trivy derives it from the manifest annotation `org.opencontainers.image.version`:
 * the semver major part; missing or unparsable means a custom build (0).
 */
export function checksMajorVersion(annotation: string | undefined): number {
  if (!annotation) return 0;
  const m = /^v?(\d+)(?:\.\d+){0,2}(?:[-+][0-9A-Za-z.+-]*)?$/.exec(annotation.trim());
  return m ? Number(m[1]) : 0;
}

/** policy/metadata.json exactly as pkg/policy writes it after a download. */
export function checksMetadata(manifestDigest: string, majorVersion: number, now: Date): ChecksMetadata {
  const meta: ChecksMetadata = {
    Digest: manifestDigest,
    DownloadedAt: formatGoTime(now),
    MajorVersion: majorVersion,
  };
  if (majorVersion === 0) meta.CustomBuild = true;
  return meta;
}

export interface NeedsUpdateVerdict {
  /** An online Trivy (no --skip-*-update) would download now. */
  download: boolean;
  /** `--skip-*-update` is accepted (no "first run" or schema error). */
  skipValid: boolean;
  reason: string;
}

/**
 * pkg/db NeedsUpdate (db) and pkg/javadb Update (java-db): files must exist; a zero DownloadedAt means
 * "may be corrupted"; skip needs Version == schema; otherwise no download while now < NextUpdate or
 * now < DownloadedAt + 1 h (java-db: 24 h).
 */
export function dbNeedsUpdate(
  meta: DbMetadata | undefined,
  dbFilePresent: boolean,
  now: Date,
  kind: 'db' | 'java-db',
): NeedsUpdateVerdict {
  const schema = kind === 'db' ? 2 : 1;
  if (!meta || !dbFilePresent) return { download: true, skipValid: false, reason: 'missing files' };
  const downloadedAt = parseGoTime(meta.DownloadedAt);
  const skipValid = meta.Version === schema;
  if (kind === 'db' && !downloadedAt) return { download: true, skipValid, reason: 'zero DownloadedAt' };
  if (meta.Version !== schema)
    return { download: true, skipValid, reason: `Version ${meta.Version} != ${schema}` };
  const nextUpdate = parseGoTime(meta.NextUpdate);
  if (nextUpdate && now < nextUpdate) return { download: false, skipValid, reason: 'before NextUpdate' };
  const window = kind === 'db' ? 3_600_000 : 86_400_000;
  if (downloadedAt && now.getTime() < downloadedAt.getTime() + window) {
    return { download: false, skipValid, reason: 'recently downloaded' };
  }
  return { download: true, skipValid, reason: 'NextUpdate passed' };
}

/** pkg/policy NeedsUpdate: MajorVersion must match (unless CustomBuild); then 24 h since DownloadedAt. */
export function checksNeedsUpdate(
  meta: ChecksMetadata | undefined,
  now: Date,
  bundleVersion = 2,
): NeedsUpdateVerdict {
  if (!meta) return { download: true, skipValid: false, reason: 'missing metadata' };
  if (!meta.CustomBuild) {
    if (meta.MajorVersion === undefined)
      return { download: true, skipValid: true, reason: 'missing MajorVersion' };
    if (meta.MajorVersion !== bundleVersion) {
      return {
        download: true,
        skipValid: true,
        reason: `MajorVersion ${meta.MajorVersion} != ${bundleVersion}`,
      };
    }
  }
  const downloadedAt = parseGoTime(meta.DownloadedAt);
  if (downloadedAt && now.getTime() < downloadedAt.getTime() + 86_400_000) {
    return { download: false, skipValid: true, reason: 'downloaded within 24 h' };
  }
  return { download: true, skipValid: true, reason: 'older than 24 h: Trivy compares the registry digest' };
}

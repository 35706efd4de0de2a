// Trivy's own rules (v0.74 pkg/db, pkg/javadb, pkg/policy, as DESIGN.md states them) for judging a
// populated cache dir from the outside, written independently of cache-populator's code: would an
// online Trivy download again, and does `--skip-*-update` accept what is there?
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';

const HOUR = 3_600_000;
const GO_ZERO = '0001-01-01T00:00:00Z';

export interface Verdict {
  /** An online Trivy would download now. */
  download: boolean;
  /** `--skip-db-update` / `--skip-java-db-update` / `--skip-check-update` is accepted. */
  skipValid: boolean;
  reason: string;
}

/** Go's time.Time JSON: RFC 3339; the zero time counts as unset. */
function goTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === GO_ZERO || value.startsWith('0001-')) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * pkg/db NeedsUpdate (db) and pkg/javadb (java-db): both files must exist; skip needs Version equal to
 * the schema; a zero DownloadedAt means "may be corrupted"; no download while now < NextUpdate or
 * now < DownloadedAt + 1 h (java-db: 24 h).
 */
export function dbVerdict(
  meta: Record<string, unknown> | undefined,
  dbFilePresent: boolean,
  now: number,
  kind: 'db' | 'java-db',
): Verdict {
  const schema = kind === 'db' ? 2 : 1;
  if (!meta || !dbFilePresent)
    return { download: true, skipValid: false, reason: 'first run: files missing' };
  const skipValid = meta.Version === schema;
  if (!skipValid)
    return { download: true, skipValid, reason: `Version ${String(meta.Version)} != ${schema}` };
  const downloadedAt = goTime(meta.DownloadedAt);
  if (downloadedAt === undefined) return { download: true, skipValid, reason: 'zero DownloadedAt' };
  const next = goTime(meta.NextUpdate);
  if (next !== undefined && now < next) return { download: false, skipValid, reason: 'now < NextUpdate' };
  const window = kind === 'db' ? HOUR : 24 * HOUR;
  if (now < downloadedAt + window) return { download: false, skipValid, reason: 'recently downloaded' };
  return { download: true, skipValid, reason: 'outdated' };
}

/** pkg/policy NeedsUpdate: MajorVersion must equal the wanted bundle major, then 24 h since DownloadedAt. */
export function checksVerdict(meta: Record<string, unknown> | undefined, now: number, major = 2): Verdict {
  if (!meta || typeof meta.Digest !== 'string')
    return { download: true, skipValid: false, reason: 'no policy/metadata.json' };
  if (meta.MajorVersion !== major)
    return { download: true, skipValid: true, reason: `MajorVersion ${String(meta.MajorVersion)}` };
  const downloadedAt = goTime(meta.DownloadedAt);
  if (downloadedAt !== undefined && now < downloadedAt + 24 * HOUR)
    return { download: false, skipValid: true, reason: 'downloaded within 24 h' };
  return { download: true, skipValid: true, reason: 'older than 24 h' };
}

export async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return `sha256:${h.digest('hex')}`;
}

/** Regular files of a tar.gz: name -> { size, sha256 } (and small ones' bytes). */
export async function tarGzFiles(
  file: string,
): Promise<Map<string, { size: number; sha256: string; bytes?: Buffer }>> {
  const out = new Map<string, { size: number; sha256: string; bytes?: Buffer }>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const h = createHash('sha256');
    const small: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      h.update(c);
      size += c.length;
      if (size <= 1 << 20) small.push(c);
    });
    stream.on('end', () => {
      if (header.type === 'file') {
        const name = header.name.replace(/^\.\//, '');
        out.set(name, {
          size,
          sha256: `sha256:${h.digest('hex')}`,
          bytes: size <= 1 << 20 ? Buffer.concat(small) : undefined,
        });
      }
      next();
    });
    stream.resume();
  });
  await pipeline(createReadStream(file), createGunzip(), extract);
  return out;
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(path.join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

export interface ExpectedDb {
  /** The layer tar.gz the part came from (trivy.db / trivy-java.db + metadata.json). */
  layerPath: string;
}

export interface ExpectedChecks {
  layerPath: string;
  manifestDigest: string;
  major: number;
}

export interface CacheExpectation {
  db?: ExpectedDb;
  javaDb?: ExpectedDb;
  checks?: ExpectedChecks;
  /** DownloadedAt must fall in this window (the population time). */
  from: number;
  to: number;
}

/**
 * Asserts, field by field, that `cacheDir` holds what Trivy expects and that Trivy would neither
 * download (now and just after population) nor refuse `--skip-*-update`. Returns the metadata read.
 */
export async function assertTrivyCache(
  cacheDir: string,
  expect: CacheExpectation,
  now = Date.now(),
): Promise<Record<string, Record<string, unknown>>> {
  const seen: Record<string, Record<string, unknown>> = {};
  const dbs: [string, 'db' | 'java-db', string, ExpectedDb | undefined][] = [
    ['db', 'db', 'trivy.db', expect.db],
    ['java-db', 'java-db', 'trivy-java.db', expect.javaDb],
  ];
  for (const [dir, kind, dbName, exp] of dbs) {
    if (!exp) continue;
    const layer = await tarGzFiles(exp.layerPath);
    const upstreamMeta = JSON.parse(layer.get('metadata.json')!.bytes!.toString('utf8')) as Record<
      string,
      unknown
    >;
    const meta = await readJson(path.join(cacheDir, dir, 'metadata.json'));
    assert.ok(meta, `${dir}/metadata.json exists and parses`);
    seen[dir] = meta;
    assert.equal(meta.Version, kind === 'db' ? 2 : 1, `${dir} Version`);
    assert.equal(meta.UpdatedAt, upstreamMeta.UpdatedAt, `${dir} UpdatedAt copied from the tarball`);
    assert.equal(meta.NextUpdate, upstreamMeta.NextUpdate, `${dir} NextUpdate copied from the tarball`);
    const downloadedAt = goTime(meta.DownloadedAt);
    assert.ok(
      downloadedAt !== undefined,
      `${dir} DownloadedAt is a non-zero RFC 3339 time: ${meta.DownloadedAt}`,
    );
    assert.ok(
      downloadedAt >= expect.from - 1000 && downloadedAt <= expect.to + 1000,
      `${dir} DownloadedAt ${meta.DownloadedAt} within the test window`,
    );
    const st = await fs.stat(path.join(cacheDir, dir, dbName));
    const want = layer.get(dbName)!;
    assert.equal(st.size, want.size, `${dir}/${dbName} size`);
    assert.equal(await sha256File(path.join(cacheDir, dir, dbName)), want.sha256, `${dir}/${dbName} bytes`);
    const v = dbVerdict(meta, true, now, kind);
    assert.equal(v.skipValid, true, `${dir}: --skip-${kind}-update accepted (${v.reason})`);
    assert.equal(v.download, false, `${dir}: no download needed now (${v.reason})`);
    // The "+1 h / +24 h since DownloadedAt" rule alone (as if NextUpdate had passed) also holds.
    const alone = dbVerdict({ ...meta, NextUpdate: GO_ZERO }, true, now, kind);
    assert.equal(alone.download, false, `${dir}: DownloadedAt window alone skips the download`);
  }
  if (expect.checks) {
    const exp = expect.checks;
    const meta = await readJson(path.join(cacheDir, 'policy', 'metadata.json'));
    assert.ok(meta, 'policy/metadata.json exists and parses');
    seen.policy = meta;
    assert.equal(meta.Digest, exp.manifestDigest, 'policy Digest = manifest digest');
    assert.equal(meta.MajorVersion, exp.major, 'policy MajorVersion');
    const downloadedAt = goTime(meta.DownloadedAt);
    assert.ok(downloadedAt !== undefined, 'policy DownloadedAt non-zero');
    assert.ok(
      downloadedAt >= expect.from - 1000 && downloadedAt <= expect.to + 1000,
      'policy DownloadedAt in window',
    );
    const layer = await tarGzFiles(exp.layerPath);
    const content = await listFiles(path.join(cacheDir, 'policy', 'content'));
    assert.deepEqual(content, [...layer.keys()].sort(), 'policy/content holds exactly the bundle files');
    for (const [name, f] of layer) {
      const bytes = await fs.readFile(path.join(cacheDir, 'policy', 'content', name));
      assert.equal(
        `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
        f.sha256,
        `policy/content/${name}`,
      );
    }
    const v = checksVerdict(meta, now, exp.major);
    assert.equal(v.download, false, `checks: no download needed (${v.reason})`);
    assert.equal(v.skipValid, true);
  }
  return seen;
}

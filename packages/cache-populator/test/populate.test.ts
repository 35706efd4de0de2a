// populateCacheDir writes what Trivy expects, field by field, and judges it with Trivy's own rules.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createGunzip } from 'node:zlib';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { LayoutTransport } from '@trivy-mirror/oci';
import { vexhubSnapshotDir } from '@trivy-mirror/fixtures';
import tar from 'tar-stream';
import {
  assertFreeSpace,
  type ChecksMetadata,
  type DbMetadata,
  checksNeedsUpdate,
  dbNeedsUpdate,
  populateCacheDir,
  readPartState,
} from '../src/index.js';
import { checksLayer, dbLayer, exists, markerOf, storeArtifact, tempDir } from './helpers.js';

const vexhub = vexhubSnapshotDir;

async function readJson<T>(p: string): Promise<T> {
  return JSON.parse(await fs.readFile(p, 'utf8')) as T;
}

/** Extracts the real VEX Hub snapshot (tar.gz with a vexhub-main/ prefix) as vexhub-mirror would. */
async function extractVexhub(into: string): Promise<string> {
  const extract = tar.extract();
  const done = pipeline(createReadStream(path.join(vexhub, 'vexhub-main.tar.gz')), createGunzip(), extract);
  for await (const entry of extract) {
    const p = path.join(into, entry.header.name);
    if (entry.header.type === 'directory') await fs.mkdir(p, { recursive: true });
    else if (entry.header.type === 'file') {
      await fs.mkdir(path.dirname(p), { recursive: true });
      const chunks: Buffer[] = [];
      for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
      await fs.writeFile(p, Buffer.concat(chunks));
    } else entry.resume();
  }
  await done;
  return path.join(into, 'vexhub-main');
}

describe('populateCacheDir', () => {
  let work: string;
  let store: string;
  let cacheDir: string;
  const updatedAt = new Date(Date.now() - 3600_000);
  const nextUpdate = new Date(Date.now() + 5 * 3600_000);
  let db: { manifestDigest: string; layerDigest: string };
  let javaDb: { manifestDigest: string; layerDigest: string };
  let checks2: { manifestDigest: string; layerDigest: string };
  let checks1: { manifestDigest: string; layerDigest: string };

  before(async () => {
    work = await tempDir('populate');
    store = path.join(work, 'store');
    cacheDir = path.join(work, 'cache');
    db = await storeArtifact(
      store,
      'trivy-db',
      '2',
      await dbLayer({ marker: 'db-1', updatedAt, nextUpdate }),
    );
    javaDb = await storeArtifact(
      store,
      'trivy-java-db',
      '1',
      await dbLayer({
        marker: 'jdb-1',
        java: true,
        updatedAt,
        nextUpdate: new Date(Date.now() + 3 * 86400_000),
      }),
    );
    checks1 = await storeArtifact(store, 'trivy-checks', '1', await checksLayer('c1'), { version: '1.12.3' });
    checks2 = await storeArtifact(store, 'trivy-checks', '2', await checksLayer('c2'), { version: '2.1.0' });
  });
  after(async () => {
    await fs.rm(work, { recursive: true, force: true });
  });

  test('writes db, java-db and checks the way Trivy lays them out', async () => {
    const t0 = new Date();
    const result = await populateCacheDir({
      cacheDir,
      parts: ['db', 'java-db', 'checks'],
      source: { kind: 'layout', root: store },
    });
    const t1 = new Date();
    assert.equal(result.ok, true, JSON.stringify(result.parts.map((p) => p.reason)));
    assert.deepEqual(
      result.parts.map((p) => p.status),
      ['populated', 'populated', 'populated'],
    );

    // db: the tarball's fields verbatim, plus DownloadedAt = population time.
    const meta = await readJson<DbMetadata>(path.join(cacheDir, 'db/metadata.json'));
    assert.equal(meta.Version, 2);
    assert.equal(meta.UpdatedAt, updatedAt.toISOString());
    assert.equal(meta.NextUpdate, nextUpdate.toISOString());
    assert.equal(meta.Marker, 'db-1');
    const downloadedAt = Date.parse(String(meta.DownloadedAt));
    assert.ok(
      downloadedAt >= t0.getTime() && downloadedAt <= t1.getTime(),
      `DownloadedAt ${meta.DownloadedAt}`,
    );
    assert.match(
      String(meta.DownloadedAt),
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
      'RFC 3339 as Go parses it',
    );
    assert.equal(markerOf(await fs.readFile(path.join(cacheDir, 'db/trivy.db'))), 'db-1');
    assert.deepEqual((await fs.readdir(path.join(cacheDir, 'db'))).sort(), ['metadata.json', 'trivy.db']);

    // Trivy's NeedsUpdate: no download now, and --skip-db-update accepted.
    const now = new Date();
    const v = dbNeedsUpdate(meta, await exists(path.join(cacheDir, 'db/trivy.db')), now, 'db');
    assert.equal(v.download, false, v.reason);
    assert.equal(v.skipValid, true);

    const jmeta = await readJson<DbMetadata>(path.join(cacheDir, 'java-db/metadata.json'));
    assert.equal(jmeta.Version, 1);
    assert.equal(jmeta.Marker, 'jdb-1');
    assert.ok(Date.parse(String(jmeta.DownloadedAt)) >= t0.getTime());
    assert.equal(markerOf(await fs.readFile(path.join(cacheDir, 'java-db/trivy-java.db'))), 'jdb-1');
    const jv = dbNeedsUpdate(jmeta, true, now, 'java-db');
    assert.equal(jv.download, false, jv.reason);
    assert.equal(jv.skipValid, true);

    // checks: newest tag by default; metadata as pkg/policy writes it; content = the bundle verbatim.
    const cmeta = await readJson<ChecksMetadata>(path.join(cacheDir, 'policy/metadata.json'));
    assert.deepEqual(Object.keys(cmeta), ['Digest', 'DownloadedAt', 'MajorVersion']);
    assert.equal(cmeta.Digest, checks2.manifestDigest);
    assert.equal(cmeta.MajorVersion, 2);
    assert.ok(
      Date.parse(cmeta.DownloadedAt) >= t0.getTime() && Date.parse(cmeta.DownloadedAt) <= t1.getTime(),
    );
    assert.equal(checksNeedsUpdate(cmeta, now).download, false);
    const manifest = await readJson<{ revision: string }>(path.join(cacheDir, 'policy/content/.manifest'));
    assert.equal(manifest.revision, 'c2');
    assert.match(
      await fs.readFile(path.join(cacheDir, 'policy/content/policies/kubernetes/policy.rego'), 'utf8'),
      /c2/,
    );
    assert.ok(await exists(path.join(cacheDir, 'policy/content/commands/kubernetes/command.yaml')));
    assert.ok(await exists(path.join(cacheDir, 'policy/content/specs/compliance/k8s-cis.yaml')));

    // Modes regardless of umask; links are relative (the dir can be bind-mounted elsewhere).
    assert.equal((await fs.stat(path.join(cacheDir, 'db/trivy.db'))).mode & 0o777, 0o644);
    assert.equal((await fs.stat(path.join(cacheDir, 'policy/content/policies'))).mode & 0o777, 0o755);
    assert.ok(!path.isAbsolute(await fs.readlink(path.join(cacheDir, 'db'))));

    const state = await readPartState(cacheDir, 'db');
    assert.equal(state?.layerDigest, db.layerDigest);
    assert.equal((await readPartState(cacheDir, 'java-db'))?.layerDigest, javaDb.layerDigest);
  });

  test('unchanged content is skipped and DownloadedAt is not refreshed', async () => {
    const before = await fs.readFile(path.join(cacheDir, 'db/metadata.json'), 'utf8');
    const result = await populateCacheDir({
      cacheDir,
      parts: ['db', 'checks'],
      source: { kind: 'layout', root: store },
    });
    assert.deepEqual(
      result.parts.map((p) => p.status),
      ['unchanged', 'unchanged'],
    );
    assert.equal(await fs.readFile(path.join(cacheDir, 'db/metadata.json'), 'utf8'), before);
  });

  test('a forced repopulation (repair) of the same content keeps DownloadedAt', async () => {
    const before = JSON.parse(await fs.readFile(path.join(cacheDir, 'db/metadata.json'), 'utf8'));
    const versionBefore = (await readPartState(cacheDir, 'db'))?.version;
    const result = await populateCacheDir({
      cacheDir,
      parts: ['db'],
      source: { kind: 'layout', root: store },
      force: true,
    });
    assert.equal(result.parts[0].status, 'populated');
    assert.notEqual(result.parts[0].version, versionBefore);
    const afterMeta = JSON.parse(await fs.readFile(path.join(cacheDir, 'db/metadata.json'), 'utf8'));
    assert.equal(afterMeta.DownloadedAt, before.DownloadedAt);
  });

  test('a real db directory left by Trivy itself is replaced by a managed version', async () => {
    const dir = path.join(work, 'cache-trivy-owned');
    await fs.mkdir(path.join(dir, 'db'), { recursive: true });
    await fs.writeFile(path.join(dir, 'db/trivy.db'), 'trivy downloaded this');
    await fs.writeFile(path.join(dir, 'db/metadata.json'), '{"Version":2}');
    const result = await populateCacheDir({
      cacheDir: dir,
      parts: ['db'],
      source: { kind: 'layout', root: store },
    });
    assert.equal(result.ok, true);
    assert.equal((await fs.lstat(path.join(dir, 'db'))).isSymbolicLink(), true);
    assert.equal(markerOf(await fs.readFile(path.join(dir, 'db/trivy.db'))), 'db-1');
    const aside = (await fs.readdir(path.join(dir, '.trivy-mirror'))).filter((n) =>
      n.startsWith('displaced-db-'),
    );
    assert.equal(aside.length, 1, 'moved aside, removed by cleanup after the grace period');
  });

  test('not enough free space is a clear error naming the dir', async () => {
    await assert.rejects(
      assertFreeSpace(work, Number.MAX_SAFE_INTEGER, 'trivy-db:2'),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'NO_SPACE');
        assert.match(err.message, new RegExp(`not enough free space in ${work} for trivy-db:2: need about`));
        return true;
      },
    );
  });

  test('checksTag "1" for older Trivy: MajorVersion 1 and that manifest digest', async () => {
    const dir = path.join(work, 'cache-old-trivy');
    const result = await populateCacheDir({
      cacheDir: dir,
      parts: ['checks'],
      checksTag: '1',
      source: { kind: 'layout', root: store },
    });
    assert.equal(result.ok, true);
    const cmeta = await readJson<ChecksMetadata>(path.join(dir, 'policy/metadata.json'));
    assert.equal(cmeta.MajorVersion, 1);
    assert.equal(cmeta.Digest, checks1.manifestDigest);
    // Current Trivy (bundle v2) would treat it as outdated, as documented.
    assert.equal(checksNeedsUpdate(cmeta, new Date()).download, true);
  });

  test('a Transport source (here LayoutTransport) works like the store', async () => {
    const dir = path.join(work, 'cache-transport');
    const transport = new LayoutTransport();
    const result = await populateCacheDir({
      cacheDir: dir,
      parts: ['db', 'checks'],
      source: {
        kind: 'transport',
        transport,
        refFor: (repository, tag) => ({ kind: 'layout', path: path.join(store, repository), tag }),
      },
    });
    assert.equal(result.ok, true, JSON.stringify(result.parts.map((p) => p.reason)));
    assert.equal(markerOf(await fs.readFile(path.join(dir, 'db/trivy.db'))), 'db-1');
    assert.equal(
      (await readJson<ChecksMetadata>(path.join(dir, 'policy/metadata.json'))).Digest,
      checks2.manifestDigest,
    );
  });

  test('a wrong layer media type or layer count is refused before anything is written', async () => {
    const bad = path.join(work, 'bad-store');
    await storeArtifact(bad, 'trivy-db', '2', await dbLayer({ marker: 'x' }), {
      mediaType: 'application/octet-stream',
    });
    await storeArtifact(bad, 'trivy-java-db', '1', await dbLayer({ marker: 'x', java: true }), { layers: 2 });
    const dir = path.join(work, 'cache-bad');
    const result = await populateCacheDir({
      cacheDir: dir,
      parts: ['db', 'java-db'],
      source: { kind: 'layout', root: bad },
    });
    assert.equal(result.ok, false);
    assert.equal(result.parts[0].error?.name, 'ArtifactInvalidError');
    assert.match(String(result.parts[0].reason), /media type/);
    assert.match(String(result.parts[1].reason), /exactly one layer/);
    assert.deepEqual(await fs.readdir(dir), []);
  });

  test('vex: vex/repositories/NAME as `trivy vex repo download` leaves it (real VEX Hub snapshot)', async () => {
    const contentDir = await extractVexhub(path.join(work, 'vex-src'));
    const upstream = await readJson<{ versions: { spec_version: string; locations: { url: string }[] }[] }>(
      path.join(vexhub, 'vex-repository.json'),
    );
    const url = 'http://127.0.0.1:8080/vex/vexhub/main.tar.gz//vexhub-main';
    upstream.versions[0].locations = [{ url }];
    const manifestPath = path.join(work, 'vex-repository.json');
    await fs.writeFile(manifestPath, JSON.stringify(upstream));
    const etag = '"sha256:abc"';
    const t0 = Date.now();
    const result = await populateCacheDir({
      cacheDir,
      parts: ['vex'],
      vex: [{ repository: 'vexhub', contentDir, manifestPath, etag }],
    });
    assert.equal(result.ok, true, JSON.stringify(result.parts.map((p) => p.reason)));
    const repoDir = path.join(cacheDir, 'vex/repositories/vexhub');
    const cache = await readJson<{ UpdatedAt: string; ETags: Record<string, string> }>(
      path.join(repoDir, 'cache.json'),
    );
    assert.deepEqual(Object.keys(cache), ['UpdatedAt', 'ETags']);
    assert.deepEqual(cache.ETags, { [url]: etag });
    assert.ok(Date.parse(cache.UpdatedAt) >= t0);
    assert.deepEqual(await readJson(path.join(repoDir, 'vex-repository.json')), upstream);
    const index = await readJson<{ packages: { location: string }[] }>(path.join(repoDir, '0.1/index.json'));
    assert.equal(index.packages.length, 57);
    for (const p of index.packages)
      assert.ok(await exists(path.join(repoDir, '0.1', p.location)), p.location);

    const again = await populateCacheDir({
      cacheDir,
      parts: ['vex'],
      vex: [{ repository: 'vexhub', contentDir, manifestPath, etag }],
    });
    assert.equal(again.parts[0].status, 'unchanged');
  });

  test('owner (a user name, a numeric group) and modes are applied', async () => {
    // As root: hand the files to nobody/65534. Otherwise chown to ourselves, which is allowed.
    const root = process.getuid?.() === 0;
    const uid = root ? 65534 : (process.getuid?.() ?? 0);
    const gid = root ? 65534 : (process.getgid?.() ?? 0);
    const dir = path.join(work, 'cache-owned');
    const result = await populateCacheDir({
      cacheDir: dir,
      parts: ['db'],
      source: { kind: 'layout', root: store },
      owner: { user: root ? 'nobody' : uid, group: gid },
      mode: 0o640,
      dirMode: 0o750,
    });
    assert.equal(result.ok, true);
    for (const p of ['db/trivy.db', 'db/metadata.json']) {
      const st = await fs.stat(path.join(dir, p));
      assert.equal(st.uid, uid);
      assert.equal(st.gid, gid);
      assert.equal(st.mode & 0o777, 0o640);
    }
    assert.equal((await fs.lstat(path.join(dir, 'db'))).uid, uid);
    assert.equal((await fs.stat(path.join(dir, 'db'))).mode & 0o777, 0o750);
  });
});

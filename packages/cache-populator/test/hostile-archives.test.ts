// Hostile or broken layers are refused as a whole: nothing new becomes visible, the old version stays,
// and no staging dir is left behind.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { OciLayout } from '@trivy-mirror/oci';
import { populateCacheDir, readPartState } from '../src/index.js';
import {
  dbContent,
  dbLayer,
  markerOf,
  storeArtifact,
  tarBytes,
  tarGz,
  tempDir,
  upstreamMetadata,
  zerosDbLayer,
} from './helpers.js';

describe('hostile and corrupt layers', () => {
  let work: string;
  let cacheDir: string;
  let goodState: string;

  before(async () => {
    work = await tempDir('hostile');
    cacheDir = path.join(work, 'cache');
    const store = path.join(work, 'good');
    await storeArtifact(store, 'trivy-db', '2', await dbLayer({ marker: 'good' }));
    await storeArtifact(store, 'trivy-checks', '2', await tarGz([{ name: '.manifest', data: '{}' }]), {
      version: '2.0.0',
    });
    const r = await populateCacheDir({
      cacheDir,
      parts: ['db', 'checks'],
      source: { kind: 'layout', root: store },
    });
    assert.equal(r.ok, true);
    goodState = JSON.stringify(await readPartState(cacheDir, 'db'));
  });
  after(async () => {
    await fs.rm(work, { recursive: true, force: true });
  });

  async function assertOldIntact(): Promise<void> {
    assert.equal(markerOf(await fs.readFile(path.join(cacheDir, 'db/trivy.db'))), 'good');
    assert.equal(
      JSON.parse(await fs.readFile(path.join(cacheDir, 'db/metadata.json'), 'utf8')).Marker,
      'good',
    );
    assert.equal(JSON.stringify(await readPartState(cacheDir, 'db')), goodState);
    const names = await fs.readdir(cacheDir);
    assert.deepEqual(
      names.filter((n) => n.startsWith('.trivy-mirror-')),
      [],
      'no staging dir or temp link left',
    );
    const versions = (await fs.readdir(path.join(cacheDir, '.trivy-mirror'))).filter((n) =>
      n.startsWith('db-'),
    );
    assert.equal(versions.length, 1, 'no new version dir');
  }

  async function attempt(
    name: string,
    layer: Buffer,
    maxUnpackedBytes?: number,
    part: 'db' | 'checks' = 'db',
  ) {
    const store = path.join(work, `store-${name}`);
    await storeArtifact(store, part === 'db' ? 'trivy-db' : 'trivy-checks', '2', layer, { version: '2.0.0' });
    return populateCacheDir({
      cacheDir,
      parts: [part],
      source: { kind: 'layout', root: store },
      maxUnpackedBytes,
    });
  }

  const meta = () => ({ name: 'metadata.json', data: upstreamMetadata({ marker: 'evil' }) });
  const evilDb = () => ({ name: 'trivy.db', data: dbContent('evil') });
  const cases: {
    name: string;
    entries: () => {
      name: string;
      type?: 'symlink' | 'link' | 'character-device' | 'fifo' | 'file';
      data?: string | Buffer;
      linkname?: string;
    }[];
    match: RegExp;
    part?: 'db' | 'checks';
  }[] = [
    {
      name: 'traversal',
      entries: () => [evilDb(), meta(), { name: '../x', data: 'x' }],
      match: /"\.\.\/x" escapes/,
    },
    {
      name: 'absolute',
      entries: () => [evilDb(), meta(), { name: '/etc/x', data: 'x' }],
      match: /"\/etc\/x" is an absolute path/,
    },
    {
      name: 'symlink',
      entries: () => [{ name: 'trivy.db', type: 'symlink', linkname: '/etc/passwd' }, meta()],
      match: /"trivy.db" is a symlink/,
    },
    {
      name: 'hardlink',
      entries: () => [evilDb(), { name: 'metadata.json', type: 'link', linkname: 'trivy.db' }],
      match: /"metadata.json" is a link/,
    },
    {
      name: 'char device',
      entries: () => [evilDb(), meta(), { name: 'null', type: 'character-device' }],
      match: /"null" is a character-device/,
    },
    {
      name: 'fifo',
      entries: () => [evilDb(), meta(), { name: 'pipe', type: 'fifo' }],
      match: /"pipe" is a fifo/,
    },
    {
      name: 'traversal in checks',
      entries: () => [{ name: 'policies/../../../escape.rego', data: 'x' }],
      match: /escapes/,
      part: 'checks',
    },
    { name: 'duplicate entry', entries: () => [evilDb(), meta(), evilDb()], match: /appears twice/ },
    { name: 'missing metadata', entries: () => [evilDb()], match: /must hold trivy.db and metadata.json/ },
    // Trivy calls a newer schema "Trivy version is old" and re-downloads an older one.
    {
      name: 'metadata Version 999',
      entries: () => [
        evilDb(),
        { name: 'metadata.json', data: upstreamMetadata({ marker: 'evil', version: 999 }) },
      ],
      match:
        /metadata\.json has Version 999, Trivy expects 2 for db; refused, the cache dir keeps what it holds/,
    },
    {
      name: 'metadata Version 1 in trivy-db',
      entries: () => [
        evilDb(),
        { name: 'metadata.json', data: upstreamMetadata({ marker: 'evil', version: 1 }) },
      ],
      match: /has Version 1, Trivy expects 2/,
    },
  ];
  for (const c of cases) {
    test(`${c.name} is refused`, async () => {
      const r = await attempt(c.name.replace(/ /g, '-'), await tarGz(c.entries()), undefined, c.part);
      assert.equal(r.ok, false);
      assert.equal(
        r.parts[0].error?.name === 'ArchiveInvalidError' ||
          (r.parts[0].error as { code?: string })?.code === 'ARCHIVE_INVALID',
        true,
        r.parts[0].reason,
      );
      assert.match(String(r.parts[0].reason), c.match);
      await assertOldIntact();
      assert.equal(
        await fs.readdir(path.join(cacheDir, 'policy/content')).then((n) => n.includes('escape.rego')),
        false,
      );
      await assert.rejects(fs.stat(path.join(work, 'escape.rego')));
    });
  }

  test('gzip bomb: an entry declaring 2 GiB is refused against a small cap', async () => {
    const r = await attempt('bomb-declared', await zerosDbLayer(2 * 1024 ** 3), 64 * 1024 ** 2);
    assert.equal(r.ok, false);
    assert.match(String(r.parts[0].reason), /above the cap/);
    await assertOldIntact();
  });

  test('gzip bomb: 2 GiB of zeros after the archive end trip the decompressed-size cap', async () => {
    const tar = await tarBytes([evilDb(), meta()]);
    const zeros = gzipSync(Buffer.alloc(16 * 1024 ** 2), { level: 9 });
    const layer = Buffer.concat([gzipSync(tar), ...Array.from({ length: 128 }, () => zeros)]);
    assert.ok(layer.length < 4 * 1024 ** 2, 'a few MB compressed');
    const started = Date.now();
    const r = await attempt('bomb-trailing', layer, 64 * 1024 ** 2);
    assert.equal(r.ok, false);
    assert.match(String(r.parts[0].reason), /decompressed size exceeds the cap of 67108864 bytes/);
    assert.ok(Date.now() - started < 10_000, 'stops early instead of inflating 2 GiB');
    await assertOldIntact();
  });

  test('corrupt gzip is an error and the old version is kept', async () => {
    const good = await dbLayer({ marker: 'evil', dbBytes: 512 * 1024 });
    const corrupt = Buffer.from(good);
    for (let i = 200; i < 260; i++) corrupt[i] ^= 0x5a;
    const r = await attempt('corrupt', corrupt);
    assert.equal(r.ok, false);
    assert.match(String(r.parts[0].reason), /corrupt archive/);
    await assertOldIntact();
  });

  test('truncated gzip is an error and the old version is kept', async () => {
    const good = await dbLayer({ marker: 'evil', dbBytes: 512 * 1024 });
    const r = await attempt('truncated', good.subarray(0, good.length - 100));
    assert.equal(r.ok, false);
    assert.match(String(r.parts[0].reason), /corrupt archive|unexpected end/);
    await assertOldIntact();
  });

  test('a blob in the store that no longer matches its digest is refused', async () => {
    const store = path.join(work, 'store-tampered');
    const { layerDigest } = await storeArtifact(store, 'trivy-db', '2', await dbLayer({ marker: 'evil' }));
    const layout = await OciLayout.open(path.join(store, 'trivy-db'));
    const other = await dbLayer({ marker: 'evil2' });
    await fs.chmod(layout.blobPath(layerDigest), 0o644);
    await fs.writeFile(layout.blobPath(layerDigest), other);
    const r = await populateCacheDir({ cacheDir, parts: ['db'], source: { kind: 'layout', root: store } });
    assert.equal(r.ok, false);
    assert.match(String(r.parts[0].reason), /SIZE|hashed|expected/i);
    await assertOldIntact();
  });
});

// Corrupt and hostile upstreams are refused with clear errors, and the previously published version stays served
// byte-identical. The archives are built here from the real snapshot with jszip, tar-stream and zlib.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { HealthCheck } from '@trivy-mirror/plugin-api';
import JSZip from 'jszip';
import * as tar from 'tar-stream';
import { FakeUpstream, fixture, GH, get, type Harness, seedGithub, startHarness } from './helpers.js';

async function snapshotZip(): Promise<JSZip> {
  return JSZip.loadAsync(await fixture('vexhub-main.zip'));
}

const zipBytes = (zip: JSZip, platform: 'DOS' | 'UNIX' = 'DOS') =>
  zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', platform });

/** Rewrites both the local and central header copies of a name (same length, so offsets stay valid). */
function renameInZip(buf: Buffer, from: string, to: string): Buffer {
  assert.equal(from.length, to.length);
  const out = Buffer.from(buf);
  let at = out.indexOf(from);
  let n = 0;
  while (at !== -1) {
    out.write(to, at, 'latin1');
    n++;
    at = out.indexOf(from, at + from.length);
  }
  assert.equal(n, 2, `${from} appears in the local and central headers`);
  return out;
}

/** Sets the uncompressed size of `name` in its central directory record (what the reader trusts for caps). */
function declareSize(buf: Buffer, name: string, size: number): Buffer {
  const out = Buffer.from(buf);
  for (let p = out.indexOf('PK\u0001\u0002'); p !== -1; p = out.indexOf('PK\u0001\u0002', p + 4)) {
    const nameLen = out.readUInt16LE(p + 28);
    if (out.toString('utf8', p + 46, p + 46 + nameLen) === name) {
      out.writeUInt32LE(size, p + 24);
      return out;
    }
  }
  throw new Error(`${name} not in the central directory`);
}

async function withIndex(
  edit: (index: { packages: { id: string; location: string }[] }) => void,
): Promise<Buffer> {
  const zip = await snapshotZip();
  const index = JSON.parse(await zip.file('vexhub-main/index.json')!.async('string'));
  edit(index);
  zip.file('vexhub-main/index.json', JSON.stringify(index));
  return zipBytes(zip);
}

async function tarGz(
  entries: {
    name: string;
    type?: 'file' | 'symlink' | 'link' | 'directory';
    body?: Buffer;
    linkname?: string;
  }[],
): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const e of entries) {
    const body = e.body ?? Buffer.alloc(0);
    const header = { name: e.name, type: e.type ?? 'file', linkname: e.linkname };
    if (e.type && e.type !== 'file') pack.entry({ ...header, size: 0 });
    else pack.entry({ ...header, size: body.length }, body);
  }
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

const GOOD_INDEX = JSON.stringify({
  updated_at: '2026-01-01T00:00:00Z',
  packages: [{ id: 'pkg:golang/x/y', location: 'pkg/y.json' }],
});

describe('hostile upstreams (zip)', () => {
  let up: FakeUpstream;
  let h: Harness;
  let goodArchive: Buffer;
  let goodManifest: Buffer;

  before(async () => {
    up = await new FakeUpstream().start();
    await seedGithub(up);
    h = await startHarness({}, { githubFrom: up });
    await h.runJob();
    goodArchive = (await get(`${h.serveUrl}/vex/vexhub/archive.zip`)).body;
    goodManifest = (await get(`${h.serveUrl}/.well-known/vex-repository.json`)).body;
    assert.ok(goodArchive.equals(await fixture('vexhub-main.zip')));
  });
  after(async () => {
    await h.stop();
    await up.stop();
  });

  async function expectRefused(
    archive: Buffer | undefined,
    pattern: RegExp,
    code = 'ARCHIVE_INVALID',
  ): Promise<void> {
    if (archive) up.set(GH.zip, archive, 'application/zip');
    await assert.rejects(h.runJob(), (err: Error & { code?: string }) => {
      assert.match(err.message, /^vex repository vexhub: http:\/\/127\.0\.0\.1:\d+\//);
      assert.match(err.message, pattern);
      assert.equal(err.code, code);
      return true;
    });
    const served = await get(`${h.serveUrl}/vex/vexhub/archive.zip`);
    assert.equal(served.status, 200);
    assert.ok(served.body.equals(goodArchive), 'the previous archive stays served byte-identical');
    assert.ok((await get(`${h.serveUrl}/.well-known/vex-repository.json`)).body.equals(goodManifest));
    const report = await h.container.getAll<HealthCheck>(HealthCheck)[0].check();
    assert.equal(report.ready, true, 'still ready: a version is served');
    const status = (report.status as { repositories: Record<string, { lastError?: { message: string } }> })
      .repositories;
    assert.match(status.vexhub.lastError?.message ?? '', pattern);
  }

  test('truncated zip', async () => {
    await expectRefused(
      goodArchive.subarray(0, goodArchive.length >> 1),
      /main\.zip: corrupt zip: no end of central directory/,
    );
  });

  test('corrupt compressed data', async () => {
    const zip = new JSZip();
    zip.file('top/index.json', GOOD_INDEX.repeat(50));
    const buf = await zipBytes(zip);
    const at = buf.indexOf('PK\u0001\u0002') - 40;
    buf.fill(0x55, at, at + 16);
    await expectRefused(buf, /entry "top\/index\.json": (corrupt data|CRC32 mismatch)/);
  });

  test('zip-slip entry', async () => {
    const zip = await snapshotZip();
    zip.file('vexhub-main/../../evil.json', '{}', { createFolders: false });
    await expectRefused(await zipBytes(zip), /entry "vexhub-main\/\.\.\/\.\.\/evil\.json": path traversal/);
  });

  test('absolute and backslash names', async () => {
    const zip = await snapshotZip();
    zip.file('vexhub-main/zz/evil.json', '{}', { createFolders: false });
    const bytes = await zipBytes(zip);
    await expectRefused(
      renameInZip(bytes, 'vexhub-main/zz/evil.json', 'vexhub-main\\zz\\evil.json'),
      /backslash in name/,
    );
    const abs = new JSZip();
    abs.file('x/etc/passwd.json', '{}', { createFolders: false });
    await expectRefused(
      renameInZip(await zipBytes(abs), 'x/etc/passwd.json', '/etc/passwd.json.'),
      /absolute path/,
    );
  });

  test('symlink entry', async () => {
    const zip = await snapshotZip();
    zip.file('vexhub-main/pkg/link.json', '/etc/passwd', { unixPermissions: 0o120777, createFolders: false });
    await expectRefused(
      await zipBytes(zip, 'UNIX'),
      /entry "vexhub-main\/pkg\/link\.json": symlink entries are refused/,
    );
  });

  test('duplicate entries', async () => {
    const zip = await snapshotZip();
    zip.file('vexhub-main/LICENSF', 'second', { createFolders: false });
    await expectRefused(
      renameInZip(await zipBytes(zip), 'vexhub-main/LICENSF', 'vexhub-main/LICENSE'),
      /entry "vexhub-main\/LICENSE": duplicate entry/,
    );
  });

  test('zip bomb: declared sizes over maxUnpackedBytes are refused before inflating', async () => {
    const zip = await snapshotZip();
    zip.file('vexhub-main/zeros.bin', Buffer.alloc(1024));
    const bytes = declareSize(await zipBytes(zip), 'vexhub-main/zeros.bin', 0xfffffff0);
    await expectRefused(
      bytes,
      /unpacks to more than 1073741824 bytes \(maxUnpackedBytes\); refusing a possible bomb/,
    );
  });

  test('zip bomb: an entry that inflates beyond its declared size is cut off', async () => {
    const zip = await snapshotZip();
    zip.file('vexhub-main/zeros.bin', Buffer.alloc(8 * 1024 * 1024));
    const bytes = declareSize(await zipBytes(zip), 'vexhub-main/zeros.bin', 100);
    await expectRefused(
      bytes,
      /entry "vexhub-main\/zeros\.bin": unpacks to more than its declared 100 bytes/,
    );
  });

  test('two top folders', async () => {
    const zip = await snapshotZip();
    zip.file('other/readme.txt', 'x');
    await expectRefused(await zipBytes(zip), /expected exactly one top folder/);
  });

  test('missing index.json', async () => {
    const zip = await snapshotZip();
    zip.remove('vexhub-main/index.json');
    await expectRefused(await zipBytes(zip), /entry vexhub-main\/index\.json: missing/);
  });

  test('index location outside the repository folder', async () => {
    const archive = await withIndex((i) => {
      i.packages[3].location = '../../../etc/passwd';
    });
    await expectRefused(
      archive,
      /entry vexhub-main\/index\.json: packages\[3\]\.location "\.\.\/\.\.\/\.\.\/etc\/passwd" leaves the repository folder/,
    );
  });

  test('index location missing from the archive', async () => {
    const archive = await withIndex((i) => {
      i.packages[0].location = 'pkg/golang/nope/scan.openvex.json';
    });
    await expectRefused(
      archive,
      /packages\[0\]\.location "pkg\/golang\/nope\/scan\.openvex\.json": vexhub-main\/pkg\/golang\/nope\/scan\.openvex\.json is not in the archive/,
    );
  });

  test('listed document that is not JSON', async () => {
    const zip = await snapshotZip();
    zip.file('vexhub-main/pkg/golang/github.com/aquasecurity/trivy/trivy.openvex.json', '{"broken":');
    await expectRefused(
      await zipBytes(zip),
      /entry vexhub-main\/pkg\/golang\/github\.com\/aquasecurity\/trivy\/trivy\.openvex\.json \(listed as packages\[0\] in vexhub-main\/index\.json\): not valid JSON/,
    );
  });

  test('too many entries', async () => {
    const zip = await snapshotZip();
    for (let i = 0; i < 200; i++) zip.file(`vexhub-main/extra/${i}.txt`, 'x');
    // The repository config allows 200 000; this test lowers the cap through a second harness below.
    const bytes = await zipBytes(zip);
    const h2 = await startHarness(
      { repositories: [{ name: 'small', url: 'https://github.com/aquasecurity/vexhub', maxEntries: 300 }] },
      { githubFrom: up },
    );
    try {
      up.set(GH.zip, bytes, 'application/zip');
      await assert.rejects(
        h2.runJob(),
        /vex repository small: .*: 4\d\d entries, more than 300 \(maxEntries\)/,
      );
      assert.equal((await get(`${h2.serveUrl}/vex/small/archive.zip`)).status, 503);
    } finally {
      await h2.stop();
      up.set(GH.zip, goodArchive, 'application/zip');
    }
  });

  test('manifest without spec_version 0.1', async () => {
    const manifest = JSON.parse((await fixture('vex-repository.json')).toString());
    manifest.versions[0].spec_version = '0.2';
    up.set(GH.manifest, JSON.stringify(manifest));
    try {
      await expectRefused(
        undefined,
        /vex-repository\.json has no version with spec_version "0\.1" \(found: "0\.2"\); Trivy would not use it/,
        'VEX_MANIFEST_INVALID',
      );
    } finally {
      up.set(GH.manifest, await fixture('vex-repository.json'));
    }
  });

  test('upstream errors are reported with the URL', async () => {
    up.files.delete(GH.zip);
    await expectRefused(undefined, /archive\/refs\/heads\/main\.zip: GET .*: HTTP 404/, 'VEX_SOURCE_HTTP');
  });
});

describe('hostile upstreams (tar.gz)', () => {
  let up: FakeUpstream;
  let h: Harness;
  let goodArchive: Buffer;

  before(async () => {
    up = await new FakeUpstream().start();
    await seedGithub(up);
    h = await startHarness(
      {
        repositories: [
          {
            name: 'vexhub',
            url: 'https://github.com/aquasecurity/vexhub',
            archive: 'tar.gz',
            maxUnpackedBytes: 16 * 1024 * 1024,
          },
        ],
      },
      { githubFrom: up },
    );
    await h.runJob();
    goodArchive = (await get(`${h.serveUrl}/vex/vexhub/archive.tar.gz`)).body;
    assert.ok(goodArchive.equals(await fixture('vexhub-main.tar.gz')));
  });
  after(async () => {
    await h.stop();
    await up.stop();
  });

  async function expectRefused(archive: Buffer, pattern: RegExp): Promise<void> {
    up.set(GH.tarGz, archive, 'application/gzip');
    await assert.rejects(h.runJob(), (err: Error & { code?: string }) => {
      assert.match(
        err.message,
        /^vex repository vexhub: http:\/\/127\.0\.0\.1:\d+\/aquasecurity\/vexhub\/archive\/refs\/heads\/main\.tar\.gz: /,
      );
      assert.match(err.message, pattern);
      assert.equal(err.code, 'ARCHIVE_INVALID');
      return true;
    });
    const served = await get(`${h.serveUrl}/vex/vexhub/archive.tar.gz`);
    assert.ok(served.body.equals(goodArchive), 'the previous archive stays served byte-identical');
  }

  test('gzip bomb (one huge file)', async () => {
    const bomb = await tarGz([
      { name: 'vexhub-main/', type: 'directory' },
      { name: 'vexhub-main/index.json', body: Buffer.from(GOOD_INDEX) },
      { name: 'vexhub-main/zeros.bin', body: Buffer.alloc(20 * 1024 * 1024) },
    ]);
    assert.ok(bomb.length < 100_000, 'a small download');
    await expectRefused(
      bomb,
      /unpacks to more than 16777216 bytes \(maxUnpackedBytes\); refusing a possible bomb/,
    );
  });

  test('gzip bomb (a stream of zeros with no entries)', async () => {
    await expectRefused(
      gzipSync(Buffer.alloc(24 * 1024 * 1024)),
      /gzip stream unpacks to more than 16777216 bytes/,
    );
  });

  test('symlink, hard link and traversal entries', async () => {
    await expectRefused(
      await tarGz([
        { name: 'vexhub-main/', type: 'directory' },
        { name: 'vexhub-main/index.json', type: 'symlink', linkname: '/etc/passwd' },
      ]),
      /entry "vexhub-main\/index\.json": symlink entries are refused/,
    );
    await expectRefused(
      await tarGz([{ name: 'vexhub-main/a', type: 'link', linkname: 'vexhub-main/b' }]),
      /entry "vexhub-main\/a": link entries are refused/,
    );
    await expectRefused(
      await tarGz([{ name: 'vexhub-main/../../x.json', body: Buffer.from('{}') }]),
      /path traversal/,
    );
  });

  test('truncated and non-gzip data', async () => {
    await expectRefused(goodArchive.subarray(0, goodArchive.length - 5000), /corrupt tar\.gz/);
    await expectRefused(Buffer.from('<html>rate limited</html>'), /corrupt tar\.gz: incorrect header check/);
  });
});

// Hostile archives: trivy-db layers (tar.gz) and VEX archives (zip) with path traversal, absolute
// names, symlinks, hard links, decompression bombs and corrupt data. Each is refused with a clear
// error; the cache keeps its previous complete version, the served VEX repository stays as it was, and
// nothing is written outside the target.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildManifest, generateArtifact, pushArtifact } from '@trivy-mirror/fixtures';
import JSZip from 'jszip';
import tar from 'tar-stream';
import { expectNoViolations } from './lib/hostile-case.js';
import { checkInvariants, exists } from './lib/invariants.js';
import { SuiteReport } from './lib/report.js';
import { World } from './lib/world.js';

const CAP = 8 * 1024 * 1024;

interface TarEntry {
  name: string;
  type?: 'file' | 'symlink' | 'link' | 'directory';
  body?: Buffer | string;
  linkname?: string;
}

async function tarGz(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((r) => pack.on('end', r));
  for (const e of entries) {
    const body = e.body === undefined ? undefined : Buffer.from(e.body);
    await new Promise<void>((res, rej) =>
      pack.entry(
        { name: e.name, type: e.type ?? 'file', linkname: e.linkname, size: body?.length ?? 0, mode: 0o644 },
        body,
        (err) => (err ? rej(err) : res()),
      ),
    );
  }
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

// UpdatedAt between the warm-up's version (the world's publish #1, 01:00) and the good one at the end
// (#2, 02:00): newer than what is served, so a layer reaches the populator, not the rollback guard.
const META = JSON.stringify({
  Version: 2,
  NextUpdate: '2036-01-01T00:00:00Z',
  UpdatedAt: '2026-01-01T01:30:00Z',
});

interface TarCase {
  name: string;
  layer: () => Promise<Buffer>;
  expect: RegExp;
  /** Paths that must not exist afterwards (relative to the world dir). */
  outside?: string[];
  /** Refused by oci-sync's version check (the job fails; the tag never moves), not by the populator. */
  refusedBySync?: boolean;
}

const TAR_CASES: TarCase[] = [
  {
    name: 'tar: an entry that climbs out with ../',
    layer: () =>
      tarGz([
        { name: 'metadata.json', body: META },
        { name: '../../escaped-by-tar', body: 'x' },
        { name: 'trivy.db', body: 'db' },
      ]),
    expect: /escapes the target|\.\./,
    outside: ['escaped-by-tar', 'cache/escaped-by-tar'],
  },
  {
    name: 'tar: an absolute entry name',
    layer: () =>
      tarGz([
        { name: '/tmp/trivy-mirror-absolute-entry', body: 'x' },
        { name: 'metadata.json', body: META },
        { name: 'trivy.db', body: 'db' },
      ]),
    expect: /absolute path/,
  },
  {
    name: 'tar: trivy.db as a symlink to /etc/passwd',
    layer: () =>
      tarGz([
        { name: 'metadata.json', body: META },
        { name: 'trivy.db', type: 'symlink', linkname: '/etc/passwd' },
      ]),
    expect: /symlink|not allowed|link/i,
  },
  {
    name: 'tar: a hard link out of the archive',
    layer: () =>
      tarGz([
        { name: 'trivy.db', body: 'db' },
        { name: 'metadata.json', type: 'link', linkname: '../../../../etc/passwd' },
      ]),
    expect: /link|not allowed/i,
  },
  {
    name: 'tar: a gzip bomb (24 MiB of zeros in a few KiB)',
    layer: () =>
      tarGz([
        { name: 'metadata.json', body: META },
        { name: 'trivy.db', body: Buffer.alloc(24 * 1024 * 1024) },
      ]),
    expect: /exceeds the cap|larger than|cap/i,
  },
  {
    name: 'tar: a corrupt gzip stream',
    layer: async () => {
      const good = await tarGz([
        { name: 'metadata.json', body: META },
        { name: 'trivy.db', body: Buffer.alloc(200_000, 7) },
      ]);
      const bad = Buffer.from(good);
      for (let i = 40; i < bad.length - 20; i += 97) bad[i] ^= 0x5a;
      return bad;
    },
    expect: /corrupt|invalid|incorrect|unexpected|header/i,
    // oci-sync reads metadata.json before the tag moves: an unreadable layer never reaches the store's tag.
    refusedBySync: true,
  },
];

interface ZipCase {
  name: string;
  zip: () => Promise<Buffer>;
  expect: RegExp;
}

async function zipOf(files: { name: string; body: string | Buffer; symlink?: boolean }[]): Promise<Buffer> {
  const zip = new JSZip();
  for (const f of files) {
    zip.file(f.name, f.body, f.symlink ? { unixPermissions: 0o120777 } : { unixPermissions: 0o100644 });
  }
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', platform: 'UNIX' });
}

const INDEX = JSON.stringify({
  updated_at: '2026-01-01T00:00:00Z',
  packages: [{ id: 'pkg:npm/x', location: 'pkg/npm/x/vex.json' }],
});

const ZIP_CASES: ZipCase[] = [
  {
    name: 'zip: an entry that climbs out with ../',
    zip: () =>
      zipOf([
        { name: 'vexhub-main/index.json', body: INDEX },
        { name: 'vexhub-main/pkg/npm/x/vex.json', body: '{}' },
        { name: 'vexhub-main/../../escaped-by-zip.json', body: '{}' },
      ]),
    expect: /traversal|\.\./,
  },
  {
    name: 'zip: an absolute entry name',
    zip: () =>
      zipOf([
        { name: 'vexhub-main/index.json', body: INDEX },
        { name: '/tmp/trivy-mirror-absolute-zip.json', body: '{}' },
      ]),
    expect: /absolute path/,
  },
  {
    name: 'zip: a symlink entry',
    zip: () =>
      zipOf([
        { name: 'vexhub-main/index.json', body: INDEX },
        { name: 'vexhub-main/pkg/npm/x/vex.json', body: '/etc/passwd', symlink: true },
      ]),
    expect: /symlink/,
  },
  {
    name: 'zip: a deflate bomb (24 MiB of zeros)',
    zip: () =>
      zipOf([
        { name: 'vexhub-main/index.json', body: INDEX },
        { name: 'vexhub-main/pkg/npm/x/vex.json', body: Buffer.alloc(24 * 1024 * 1024) },
      ]),
    expect: /bomb|maxUnpackedBytes|unpacks to more/,
  },
  {
    name: 'zip: not a zip at all',
    zip: async () => Buffer.from('<html>rate limited</html>'),
    expect: /not a zip|corrupt/,
  },
  {
    name: 'zip: an index naming a file outside the archive',
    zip: () =>
      zipOf([
        {
          name: 'vexhub-main/index.json',
          body: JSON.stringify({
            updated_at: '2026-01-01T00:00:00Z',
            packages: [{ id: 'pkg:npm/x', location: '../../../../etc/passwd' }],
          }),
        },
      ]),
    expect: /location|outside|missing|\.\./i,
  },
];

describe('reliability: hostile archives are refused and change nothing', { timeout: 180_000 }, () => {
  const report = new SuiteReport('hostile-archive');
  const world = new World({
    dbBytes: 32 * 1024,
    cacheExtra: [`maxUnpackedBytes: ${CAP}`],
    vexRepoExtra: `maxUnpackedBytes: ${CAP}`,
  });
  let template: Awaited<ReturnType<typeof generateArtifact>>;

  before(async () => {
    // a small synthetic VEX repository: the real snapshot unpacks past the 8 MiB cap used here
    await world.warmUp({ publishVex: true });
    // the cache must hold a good db before the hostile ones arrive
    await waitFor(async () => !!(await readlink(join(world.cacheDir, 'db')).catch(() => undefined)));
    template = await generateArtifact({ kind: 'trivy-db', dbBytes: 1024, workDir: join(world.dir, 'tpl') });
  });

  after(async () => {
    report.print();
    await world.stop();
  });

  for (const [i, c] of TAR_CASES.entries()) {
    test(c.name, async () => {
      const bytes = await c.layer();
      const path = join(world.dir, `hostile-${i}.tar.gz`);
      await writeFile(path, bytes);
      const layer = {
        mediaType: template.layer.mediaType,
        digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
        size: bytes.length,
        annotations: { 'org.opencontainers.image.title': 'db.tar.gz' },
      };
      const built = buildManifest({
        kind: 'trivy-db',
        shape: 'oci-1.1',
        layer,
        annotations: { case: String(i) },
      });
      const manifestDigest = `sha256:${createHash('sha256').update(built.manifestBytes).digest('hex')}`;
      await pushArtifact(world.upstream.url, 'aquasec/trivy-db', '2', {
        ...built,
        manifestDigest,
        layer: { ...layer, path },
      });
      const linkBefore = await readlink(join(world.cacheDir, 'db'));
      const metaBefore = await readFile(join(world.cacheDir, 'db', 'metadata.json'), 'utf8');
      const daemon = world.requireDaemon();
      const logStart = daemon.logs().length;
      await world.runJob('oci-sync');
      // the failure of THIS layer (an earlier hostile layer may be retried meanwhile)
      const failed = await daemon.waitForLog(
        (l) =>
          (c.refusedBySync ? l.msg === 'job failed' : l.msg === 'populate failed' && l.part === 'db') &&
          daemon.logs().indexOf(l) >= logStart &&
          [manifestDigest, layer.digest].some((d) =>
            String((l.err as { message?: string } | undefined)?.message ?? '').includes(d),
          ),
        30_000,
      );
      await world.idle();
      report.runs++;
      report.faults++;
      const message = String((failed.err as { message?: string } | undefined)?.message ?? '');
      assert.match(message, c.expect, `unclear error for ${c.name}: ${message}`);
      assert.equal(await readlink(join(world.cacheDir, 'db')), linkBefore, 'the cache db moved');
      assert.equal(await readFile(join(world.cacheDir, 'db', 'metadata.json'), 'utf8'), metaBefore);
      for (const p of c.outside ?? []) {
        assert.equal(await exists(join(world.dir, p)), false, `${p} was written outside the target`);
      }
      assert.equal(await exists('/tmp/trivy-mirror-absolute-entry'), false);
      // this suite checks no destination registry (hostile layers only reach the cache)
      await expectNoViolations(world, report, c.name, { logStart, registryStorage: [] });
      report.recoveries++;
    });
  }

  for (const c of ZIP_CASES) {
    test(c.name, async () => {
      const manifestUrl = `${world.serveUrl}/.well-known/vex-repository.json`;
      const servedBefore = await fetch(manifestUrl).then((r) => r.text());
      const currentBefore = await readFile(
        join(world.stateDir, 'plugins', 'vexhub-mirror', 'repositories', 'vexhub', 'current.json'),
        'utf8',
      );
      world.vexServer!.setArchive('zip', await c.zip());
      const logStart = world.requireDaemon().logs().length;
      const job = await world.runJob('vexhub-mirror');
      await world.idle();
      report.runs++;
      report.faults++;
      assert.equal(job.status, 'failure', `vexhub-mirror accepted ${c.name}`);
      assert.match(job.summary ?? '', c.expect, `unclear error for ${c.name}: ${job.summary}`);
      assert.equal(await fetch(manifestUrl).then((r) => r.text()), servedBefore, 'served manifest changed');
      assert.equal(
        await readFile(
          join(world.stateDir, 'plugins', 'vexhub-mirror', 'repositories', 'vexhub', 'current.json'),
          'utf8',
        ),
        currentBefore,
      );
      for (const p of [
        join(dirname(world.stateDir), 'escaped-by-zip.json'),
        '/tmp/trivy-mirror-absolute-zip.json',
      ]) {
        assert.equal(await exists(p), false, `${p} was written`);
      }
      await expectNoViolations(world, report, c.name, { logStart, registryStorage: [] });
      report.recoveries++;
    });
  }

  test('good artifacts afterwards are populated and published as usual', async () => {
    await world.publish(['trivy-db']);
    await world.publishVex(1);
    const daemon = world.requireDaemon();
    const logStart = daemon.logs().length;
    const [sync, vex] = await Promise.all([world.runJob('oci-sync'), world.runJob('vexhub-mirror')]);
    assert.notEqual(sync.status, 'failure', sync.summary);
    assert.equal(vex.status, 'success', vex.summary);
    await daemon.waitForLog(
      (l) => l.msg === 'cache part populated' && l.part === 'db' && daemon.logs().indexOf(l) >= logStart,
      30_000,
    );
    await world.idle();
    assert.deepEqual(await checkInvariants({ stateDir: world.stateDir, cacheDirs: [world.cacheDir] }), []);
  });
});

async function waitFor(fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

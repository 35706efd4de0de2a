// End to end: hostile trivy-db layers through `trivy-mirror populate` (traversal, symlink, gzip bombs)
// fail with a clear message, write nothing and leave the cached version intact (set-up:
// helpers/cache-suite.ts).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { ARTIFACT_KINDS, buildManifest, writeArtifactToLayout } from '@trivy-mirror/fixtures';
import { after, before, describe, test } from 'node:test';
import tar from 'tar-stream';
import {
  type CacheSuite,
  MiB,
  populateDb,
  populateDbArgs,
  snapshot,
  startCacheSuite,
} from './helpers/cache-suite.js';
import { runCli } from './helpers/daemon-process.js';

/** A store whose trivy-db:2 layer is `entries` as a tar.gz (hostile content), manifest of the real shape. */
async function hostileStore(
  dir: string,
  entries: {
    name: string;
    type?: 'file' | 'symlink' | 'link';
    content?: Buffer;
    linkname?: string;
    size?: number;
    zeros?: number;
  }[],
  trailingZeros = 0,
): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const layerPath = path.join(dir, 'layer.tar.gz');
  const pack = tar.pack();
  const written = pipeline(pack, createGzip(), (await fs.open(layerPath, 'w')).createWriteStream());
  for (const e of entries) {
    if (e.type === 'symlink' || e.type === 'link') {
      pack.entry({ name: e.name, type: e.type, linkname: e.linkname });
    } else if (e.zeros) {
      const sink = pack.entry({ name: e.name, size: e.zeros });
      const chunk = Buffer.alloc(MiB);
      for (let n = 0; n < e.zeros; n += MiB) if (!sink.write(chunk)) await once(sink, 'drain');
      sink.end();
    } else {
      pack.entry({ name: e.name }, e.content ?? Buffer.alloc(0));
    }
  }
  pack.finalize();
  await written;
  if (trailingZeros) {
    // Data after the tar's end-of-archive blocks, inside the same gzip stream (a classic bomb).
    const tarBytes = gunzipSync(await fs.readFile(layerPath));
    await fs.writeFile(layerPath, gzipSync(Buffer.concat([tarBytes, Buffer.alloc(trailingZeros)])));
  }
  const bytes = await fs.readFile(layerPath);
  const layer = {
    mediaType: ARTIFACT_KINDS['trivy-db'].layerMediaType,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    size: bytes.length,
    annotations: { 'org.opencontainers.image.title': ARTIFACT_KINDS['trivy-db'].title },
  };
  const built = buildManifest({ kind: 'trivy-db', shape: 'oci-1.1', layer, annotations: {} });
  await writeArtifactToLayout(path.join(dir, 'store', 'trivy-db'), '2', {
    manifestBytes: built.manifestBytes,
    manifestDigest: `sha256:${createHash('sha256').update(built.manifestBytes).digest('hex')}`,
    configBytes: built.configBytes,
    configDescriptor: built.configDescriptor,
    layer: { ...layer, path: layerPath },
  });
}

describe('hostile layers through the CLI', () => {
  const meta = Buffer.from(
    JSON.stringify({ Version: 2, NextUpdate: '2099-01-01T00:00:00Z', UpdatedAt: '2026-01-01T00:00:00Z' }),
  );
  const cases = [
    {
      name: 'traversal',
      entries: [
        { name: 'metadata.json', content: meta },
        { name: 'trivy.db', content: Buffer.from('db') },
        { name: '../evil.txt', content: Buffer.from('x') },
      ],
      message: /entry "\.\.\/evil\.txt" escapes the target/,
    },
    {
      name: 'symlink',
      entries: [
        { name: 'metadata.json', content: meta },
        { name: 'trivy.db', type: 'symlink' as const, linkname: '/etc/passwd' },
      ],
      message: /entry "trivy\.db" is a symlink, which is not allowed/,
    },
    {
      name: 'gzip bomb',
      entries: [
        { name: 'metadata.json', content: meta },
        { name: 'trivy.db', zeros: 64 * MiB },
      ],
      message: /declares 67108864 bytes, above the cap/,
      args: ['--max-unpacked-bytes', String(8 * MiB)],
    },
    {
      name: 'gzip bomb (zeros after the archive end)',
      entries: [
        { name: 'metadata.json', content: meta },
        { name: 'trivy.db', content: Buffer.from('small') },
      ],
      trailingZeros: 64 * MiB,
      message: /decompressed size exceeds the cap of 8388608 bytes/,
      args: ['--max-unpacked-bytes', String(8 * MiB)],
    },
  ];
  // One cache dir holding a good version; every hostile populate must leave it exactly so.
  let suite: CacheSuite;
  let cacheDir: string;
  before(async () => {
    suite = await startCacheSuite('cache-hostile');
    cacheDir = path.join(suite.root, 'hostile-cache');
    await populateDb(cacheDir, suite.storeDir);
  });
  after(() => suite?.stop());
  for (const c of cases) {
    test(`${c.name}: non-zero exit, a clear message, nothing written, the old version intact`, async (t) => {
      const dir = path.join(suite.root, `hostile-${c.name.replace(/\W/g, '-')}`);
      const old = await snapshot(cacheDir, 'db', 'trivy.db');
      const entriesBefore = (await fs.readdir(cacheDir)).sort();
      const versionsBefore = (await fs.readdir(path.join(cacheDir, '.trivy-mirror'))).sort();

      await hostileStore(dir, c.entries, c.trailingZeros);
      const r = await runCli(populateDbArgs(cacheDir, path.join(dir, 'store'), ...(c.args ?? [])));
      assert.notEqual(r.code, 0, 'populate fails');
      const text = r.stdout + r.stderr;
      t.diagnostic(r.stdout.trim());
      assert.match(text, /failed/);
      assert.match(text, c.message, text);
      assert.deepEqual(await snapshot(cacheDir, 'db', 'trivy.db'), old, 'old version intact');
      assert.deepEqual((await fs.readdir(cacheDir)).sort(), entriesBefore, 'nothing new in the cache dir');
      assert.deepEqual(
        (await fs.readdir(path.join(cacheDir, '.trivy-mirror'))).sort(),
        versionsBefore,
        'no new version',
      );
      await assert.rejects(fs.stat(path.join(dir, 'evil.txt')));
      await assert.rejects(fs.stat(path.join(cacheDir, 'evil.txt')));
    });
  }
});

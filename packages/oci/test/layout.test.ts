// The OCI image-layout store: atomic writes, tags, gc with a grace time, cleanTemp, skopeo interop.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  Annotation,
  isOciError,
  LAYOUT_VERSION_BYTES,
  MediaType,
  OciErrorCode,
  OciLayout,
  sha256Digest,
} from '@trivy-mirror/oci';
import { mkdirp } from '@trivy-mirror/oci/fs';
import { buildArtifact, run, type TestArtifact, writeToLayout } from './test-artifacts.js';

function manifestFor(configDigest: string, layer: { digest: string; size: number }, note: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciEmpty, digest: configDigest, size: 2 },
      layers: [{ mediaType: MediaType.TrivyDbLayer, ...layer }],
      annotations: { note },
    }),
  );
}

describe('OciLayout', () => {
  let dir: string;
  let a: TestArtifact;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oci-layout-test-'));
    a = await buildArtifact({ dir, shape: 'oci-1.1', layerBytes: 2 * 1024 * 1024, seed: 'layout' });
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('open refuses a missing layout and creates one on request', async () => {
    const path = join(dir, 'new');
    await assert.rejects(OciLayout.open(path), (e: unknown) => isOciError(e, OciErrorCode.LAYOUT_INVALID));
    const layout = await OciLayout.open(path, { create: true });
    assert.equal(await readFile(join(path, 'oci-layout'), 'utf8'), LAYOUT_VERSION_BYTES);
    assert.deepEqual((await layout.index()).manifests, []);
    assert.deepEqual(await layout.tags(), []);
    await writeFile(join(dir, 'bad-marker'), '');
    await mkdir(join(dir, 'bad'), { recursive: true });
    await writeFile(join(dir, 'bad', 'oci-layout'), '{"imageLayoutVersion":"9"}');
    await assert.rejects(OciLayout.open(join(dir, 'bad')), (e: unknown) =>
      isOciError(e, OciErrorCode.LAYOUT_INVALID),
    );
  });

  test('blob writes are verified and leave nothing behind on failure', async () => {
    const layout = await OciLayout.open(join(dir, 'verify'), { create: true });
    const data = Buffer.from('some blob content');
    const wrong = { mediaType: 'x', digest: sha256Digest('other'), size: data.length };
    await assert.rejects(layout.blobWrite(wrong, Readable.from([data])), (e: unknown) =>
      isOciError(e, OciErrorCode.DIGEST_MISMATCH),
    );
    assert.equal(await layout.blobHas(wrong.digest), false);
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1000));
        this.destroy(new Error('source broke'));
      },
    });
    const desc = { mediaType: 'x', digest: sha256Digest(data), size: data.length };
    await assert.rejects(layout.blobWrite(desc, failing), /source broke/);
    assert.deepEqual(await readdir(join(layout.dir, '.tmp')), []);
    assert.deepEqual(await readdir(join(layout.dir, 'blobs', 'sha256')), []);
    await layout.blobWrite(desc, Readable.from([data]));
    assert.deepEqual(await readFile(layout.blobPath(desc.digest)), data);
    await layout.blobWrite(desc, Readable.from([data])); // present: a no-op
  });

  test('a layout that cannot be created fails at once (no endless mkdir under /proc)', async () => {
    const started = Date.now();
    await assert.rejects(
      OciLayout.open('/proc/trivy-mirror-test/layout', { create: true }),
      (e: unknown) =>
        isOciError(e, OciErrorCode.LAYOUT_INVALID) &&
        (e as Error).message.includes('cannot create the layout /proc/trivy-mirror-test/layout'),
    );
    assert.ok(Date.now() - started < 5000);
    await mkdirp(join(dir, 'deep', 'a', 'b'));
    await mkdirp(join(dir, 'deep', 'a', 'b')); // exists: fine
    await writeFile(join(dir, 'deep', 'file'), 'x');
    await assert.rejects(mkdirp(join(dir, 'deep', 'file', 'c')), /ENOTDIR/);
  });

  test('large blobs are flushed while they stream; a failure halfway leaves nothing', async () => {
    const layout = await OciLayout.open(join(dir, 'large'), { create: true });
    const chunk = Buffer.alloc(1024 * 1024);
    const chunks = 96; // 96 MiB: large enough to be written back while it streams
    const source = (failAt?: number) => {
      let i = 0;
      return new Readable({
        read() {
          if (i === failAt) return this.destroy(new Error('download broke'));
          if (i === chunks) return this.push(null);
          chunk.fill(i++ % 251);
          // a copy per chunk, each with its own content
          setTimeout(() => this.push(Buffer.from(chunk)), i % 16 === 0 ? 5 : 0);
        },
      });
    };
    const bytes = Buffer.concat(
      Array.from({ length: chunks }, (_, i) => Buffer.alloc(chunk.length, i % 251)),
    );
    const desc = { mediaType: 'x', digest: sha256Digest(bytes), size: bytes.length };
    await assert.rejects(layout.blobWrite(desc, source(60)), /download broke/);
    assert.deepEqual(await readdir(join(layout.dir, '.tmp')), []);
    assert.equal(await layout.blobHas(desc.digest), false);
    await layout.blobWrite(desc, source());
    assert.equal(sha256Digest(await readFile(layout.blobPath(desc.digest))), desc.digest);
    assert.deepEqual(await readdir(join(layout.dir, '.tmp')), []);
  });

  test('tags move; untag and manifestDelete; concurrent writers lose nothing', async () => {
    const layout = await OciLayout.open(join(dir, 'tags'), { create: true });
    const config = await layout.blobWriteBytes(Buffer.from('{}'));
    const layer = { digest: await layout.blobWriteBytes(Buffer.from('layer')), size: 5 };
    const m1 = manifestFor(config, layer, 'one');
    const m2 = manifestFor(config, layer, 'two');
    const d1 = await layout.manifestPut(m1, MediaType.OciManifest, { tag: '2' });
    const d2 = await layout.manifestPut(m2, MediaType.OciManifest, { tag: '2', keepUntagged: true });
    assert.deepEqual(await layout.tags(), ['2']);
    assert.equal((await layout.resolve('2'))?.digest, d2.digest);
    assert.equal((await layout.manifestGet('2'))?.descriptor.digest, sha256Digest(m2));
    const entries = (await layout.index()).manifests;
    assert.deepEqual(
      entries.map((e) => [e.digest, e.annotations?.[Annotation.RefName]]),
      [
        [d1.digest, undefined],
        [d2.digest, '2'],
      ],
    );
    assert.equal((await layout.manifestGet(d1.digest))?.descriptor.digest, d1.digest);

    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        layout.manifestPut(manifestFor(config, layer, `n${i}`), MediaType.OciManifest, { tag: `t${i}` }),
      ),
    );
    assert.equal((await layout.tags()).length, 21);
    assert.equal(await layout.untag('t0'), true);
    assert.equal(await layout.untag('nope'), false);
    assert.equal(await layout.manifestDelete(d1.digest), true);
    assert.equal((await layout.tags()).includes('t0'), false);
    assert.equal(
      (await layout.index()).manifests.some((m) => m.digest === d1.digest),
      false,
    );
    // index.json is always complete JSON (written via temp + rename)
    JSON.parse(await readFile(join(layout.dir, 'index.json'), 'utf8'));
  });

  test('gc keeps referenced blobs and removes unreferenced ones older than the grace time', async () => {
    const path = join(dir, 'gc');
    await writeToLayout(path, '2', a);
    const layout = await OciLayout.open(path);
    const orphanOld = await layout.blobWriteBytes(Buffer.from('orphan old'));
    const orphanNew = await layout.blobWriteBytes(Buffer.from('orphan new'));
    const kept = await layout.blobWriteBytes(Buffer.from('kept by callback'));
    const old = new Date(Date.now() - 3600_000);
    for (const d of [orphanOld, kept, a.layer.digest, a.config.digest, a.manifestDigest]) {
      await utimes(layout.blobPath(d), old, old);
    }
    const res = await layout.gc({ graceMs: 60_000, keep: (d) => d === kept });
    assert.deepEqual(res.removed, [orphanOld]);
    assert.equal(res.bytes, 'orphan old'.length);
    for (const d of [orphanNew, kept, a.layer.digest, a.config.digest, a.manifestDigest]) {
      assert.equal(await layout.blobHas(d), true, d);
    }
    // once the tag is gone, the artifact's blobs go too
    await layout.untag('2');
    const res2 = await layout.gc({ graceMs: 60_000 });
    assert.deepEqual(
      new Set(res2.removed),
      new Set([kept, a.layer.digest, a.config.digest, a.manifestDigest]),
    );
  });

  test('gc dryRun lists what would go, against a planned index, and removes nothing', async () => {
    const path = join(dir, 'gc-dry');
    await writeToLayout(path, '2', a);
    const layout = await OciLayout.open(path);
    const old = new Date(Date.now() - 3600_000);
    for (const d of [a.layer.digest, a.config.digest, a.manifestDigest])
      await utimes(layout.blobPath(d), old, old);
    const indexBefore = await readFile(join(path, 'index.json'), 'utf8');
    // with the artifact's entry gone from the plan, all of its blobs would go
    const res = await layout.gc({ graceMs: 60_000, dryRun: true, index: [] });
    assert.deepEqual(new Set(res.removed), new Set([a.layer.digest, a.config.digest, a.manifestDigest]));
    for (const d of res.removed) assert.equal(await layout.blobHas(d), true, `${d} still there`);
    assert.equal(await readFile(join(path, 'index.json'), 'utf8'), indexBefore);
    // against the real index, nothing would
    assert.deepEqual((await layout.gc({ graceMs: 60_000, dryRun: true })).removed, []);
  });

  test('cleanTemp removes leftovers of interrupted writes', async () => {
    const layout = await OciLayout.open(join(dir, 'tmp'), { create: true });
    await mkdir(join(layout.dir, '.tmp'), { recursive: true });
    // a pid above pid_max: its writer is surely gone
    await writeFile(join(layout.dir, '.tmp', '99999999-deadbeef'), 'partial');
    await writeFile(join(layout.dir, 'blobs', 'sha256', '.tmp-abc'), 'partial');
    await writeFile(join(layout.dir, 'index.json.tmp-1'), '{');
    assert.equal(await layout.cleanTemp(), 3);
    assert.equal(await layout.cleanTemp(), 0);
    assert.deepEqual(await readdir(join(layout.dir, '.tmp')), []);
  });

  test('skopeo reads our layouts and we read skopeo-written layouts', async () => {
    const ours = join(dir, 'ours');
    await writeToLayout(ours, '2', a);
    const theirs = join(dir, 'theirs');
    await run('skopeo', ['copy', '--quiet', '--preserve-digests', `oci:${ours}:2`, `oci:${theirs}:mirrored`]);
    const layout = await OciLayout.open(theirs);
    assert.deepEqual(await layout.tags(), ['mirrored']);
    const got = await layout.manifestGet('mirrored');
    assert.equal(got?.descriptor.digest, a.manifestDigest);
    assert.deepEqual(got?.bytes, a.manifestBytes);
    assert.equal(sha256Digest(await readFile(layout.blobPath(a.layer.digest))), a.layer.digest);
  });
});

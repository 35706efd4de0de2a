// artifactCopy against real registries (Debian's docker-registry) and OCI layouts, checked with skopeo.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type RunningRegistry, startRegistry } from '@trivy-mirror/fixtures';
import {
  artifactCopy,
  LayoutTransport,
  MediaType,
  OciLayout,
  parseReference,
  RegistryClient,
  sha256Digest,
  withDigest,
} from '@trivy-mirror/oci';
import {
  buildArtifact,
  run,
  skopeoPush,
  skopeoRawDigest,
  type TestArtifact,
  writeToLayout,
} from './test-artifacts.js';

const LAYER_BYTES = 20 * 1024 * 1024;
const SHAPES = ['oci-1.1', 'legacy'] as const;

describe('artifactCopy', () => {
  let upstream: RunningRegistry;
  let target: RunningRegistry;
  let dir: string;
  const client = new RegistryClient();
  const layouts = new LayoutTransport();
  const artifacts = new Map<string, TestArtifact>();

  before(async () => {
    [upstream, target] = await Promise.all([startRegistry(), startRegistry()]);
    dir = await mkdtemp(join(tmpdir(), 'oci-copy-test-'));
    for (const shape of SHAPES) {
      const a = await buildArtifact({ dir, shape, layerBytes: LAYER_BYTES, seed: `copy-${shape}` });
      artifacts.set(shape, a);
      const seedLayout = join(dir, `seed-${shape}`);
      await writeToLayout(seedLayout, '2', a);
      // seeded by skopeo, an independent client, from a layout we wrote
      await skopeoPush(seedLayout, '2', `${upstream.host}/aquasec/trivy-db-${shape}:2`);
    }
  });

  after(async () => {
    await client.close();
    await Promise.all([upstream?.stop(), target?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const shape of SHAPES) {
    test(`registry -> registry, ${shape}`, async () => {
      const a = artifacts.get(shape)!;
      const src = parseReference(`${upstream.host}/aquasec/trivy-db-${shape}:2`);
      const dst = parseReference(`${target.host}/trivy/trivy-db-${shape}:2`);
      const res = await artifactCopy({ src: client, srcRef: src, dst: client, dstRef: dst });
      assert.equal(res.digest, a.manifestDigest);
      assert.equal(res.mediaType, MediaType.OciManifest);
      assert.equal(res.blobsCopied, 2);
      assert.equal(res.bytes, LAYER_BYTES + a.configBytes.length);
      assert.equal(await skopeoRawDigest(`${target.host}/trivy/trivy-db-${shape}:2`), a.manifestDigest);
      const got = await client.manifestGet(dst);
      assert.deepEqual(got.bytes, a.manifestBytes);
      assert.equal(
        got.manifest.config.mediaType,
        shape === 'oci-1.1' ? MediaType.OciEmpty : MediaType.TrivyConfig,
      );
      assert.equal(got.manifest.artifactType !== undefined, shape === 'oci-1.1');

      const again = await artifactCopy({ src: client, srcRef: src, dst: client, dstRef: dst });
      assert.equal(again.blobsSkipped, 2);
      assert.equal(again.blobsCopied, 0);
      assert.equal(again.bytes, 0);
    });

    test(`registry -> layout -> registry, ${shape}`, async () => {
      const a = artifacts.get(shape)!;
      const layoutDir = join(dir, `store-${shape}`);
      const viaLayout = parseReference(`oci-layout:${layoutDir}:2`);
      const first = await artifactCopy({
        src: client,
        srcRef: parseReference(`${upstream.host}/aquasec/trivy-db-${shape}:2`),
        dst: layouts,
        dstRef: viaLayout,
      });
      assert.equal(first.digest, a.manifestDigest);
      const layout = await OciLayout.open(layoutDir);
      assert.deepEqual(await layout.tags(), ['2']);
      assert.deepEqual(await readFile(layout.blobPath(a.layer.digest)).then(sha256Digest), a.layer.digest);

      const out = parseReference(`${target.host}/from-layout/trivy-db-${shape}:2`);
      const second = await artifactCopy({ src: layouts, srcRef: viaLayout, dst: client, dstRef: out });
      assert.equal(second.digest, a.manifestDigest);
      assert.equal(await skopeoRawDigest(`${target.host}/from-layout/trivy-db-${shape}:2`), a.manifestDigest);

      // skopeo reads the layout we wrote
      const dirOut = join(dir, `skopeo-dir-${shape}`);
      await run('skopeo', ['copy', '--quiet', '--preserve-digests', `oci:${layoutDir}:2`, `dir:${dirOut}`]);
      const manifest = await readFile(join(dirOut, 'manifest.json'));
      assert.equal(sha256Digest(manifest), a.manifestDigest);
      const layerHash = createHash('sha256')
        .update(await readFile(join(dirOut, a.layer.digest.slice(7))))
        .digest('hex');
      assert.equal(`sha256:${layerHash}`, a.layer.digest);
    });
  }

  test('mounts across repositories of one registry', async () => {
    const a = artifacts.get('oci-1.1')!;
    await artifactCopy({
      src: client,
      srcRef: parseReference(`${upstream.host}/aquasec/trivy-db-oci-1.1:2`),
      dst: client,
      dstRef: parseReference(`${target.host}/mount-src/trivy-db:2`),
    });
    const res = await artifactCopy({
      src: client,
      srcRef: parseReference(`${target.host}/mount-src/trivy-db:2`),
      dst: client,
      dstRef: parseReference(`${target.host}/mount-dst/trivy-db:2`),
    });
    assert.equal(res.digest, a.manifestDigest);
    assert.equal(res.blobsMounted, 2);
    assert.equal(res.blobsCopied, 0);
    assert.ok(await client.blobHead(parseReference(`${target.host}/mount-dst/trivy-db`), a.layer.digest));
  });

  test('a mount the registry cannot do (202) falls back to the upload session', async () => {
    const a = artifacts.get('legacy')!;
    const ref = parseReference(`${target.host}/mount-fallback/trivy-db`);
    const res = await client.blobPut(ref, a.config, () => Readable.from([a.configBytes]), {
      mountFrom: 'no-such/repository',
    });
    assert.deepEqual(res, { mounted: false });
    assert.equal((await client.blobHead(ref, a.config.digest))?.size, a.configBytes.length);
    assert.equal(await client.blobMount(ref, a.layer.digest, 'no-such/repository'), false);
  });

  test('copies an index with its child manifests first', async () => {
    const a = artifacts.get('legacy')!;
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [
          { mediaType: MediaType.OciManifest, digest: a.manifestDigest, size: a.manifestBytes.length },
        ],
      }),
    );
    const srcRef = parseReference(`${upstream.host}/aquasec/trivy-db-legacy:multi`);
    assert.equal(await client.manifestPut(srcRef, index, MediaType.OciIndex), sha256Digest(index));
    const dstRef = parseReference(`${target.host}/indexed/trivy-db:multi`);
    const res = await artifactCopy({ src: client, srcRef, dst: client, dstRef });
    assert.equal(res.digest, sha256Digest(index));
    assert.equal(res.blobsCopied, 2);
    const child = await client.manifestGet(withDigest(dstRef, a.manifestDigest));
    assert.deepEqual(child.bytes, a.manifestBytes);
    assert.deepEqual(await client.tagList(dstRef), ['multi']);

    // and into a layout: the child is reachable through the index only
    const layoutDir = join(dir, 'index-layout');
    await artifactCopy({
      src: client,
      srcRef,
      dst: layouts,
      dstRef: parseReference(`oci-layout:${layoutDir}:multi`),
    });
    const layout = await OciLayout.open(layoutDir);
    assert.equal((await layout.index()).manifests.length, 1);
    assert.ok(await layout.manifestGet(a.manifestDigest));
    assert.equal((await layout.gc({ graceMs: 0 })).removed.length, 0);
  });
});

// The overlapped sync against real registries: a layer is written to the store and pushed to the
// destination during one download, and metadata.json is read from the store after the destination
// has the manifest (a stop abandons that read; the next run does it); a destination that breaks
// mid-push is filled from the store afterwards; a flipped byte upstream leaves neither the store
// nor the destination with the blob or the manifest; a new destination is pushed from the store.
import assert from 'node:assert/strict';
import { access, mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type FaultProxy,
  type GeneratedArtifact,
  generateArtifact,
  pushArtifact,
  type RunningRegistry,
  startFaultProxy,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { OciLayout, parseReference } from '@trivy-mirror/oci';
import { createHarness, type Harness } from './sync-harness.js';

const UPDATED_AT = new Date('2026-11-20T06:00:00Z');

const isLayerUpload = (req: IncomingMessage, repo: string, layer: GeneratedArtifact['layer']) =>
  req.method === 'PUT' &&
  (req.url ?? '').includes(`/v2/${repo}/blobs/uploads/`) &&
  decodeURIComponent(req.url ?? '').includes(layer.digest);

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('oci-sync overlapped download, store write and push', () => {
  let work: string;
  let upstream: RunningRegistry;
  let dest: RunningRegistry;
  let upProxy: FaultProxy;
  let destProxy: FaultProxy;
  let javaDb: GeneratedArtifact;
  const harnesses: Harness[] = [];
  let n = 0;

  const harness = async (stateName: string, destinations: string[]) => {
    const h = await createHarness(join(work, stateName), {
      sources: [`${upProxy.host}/aquasec`],
      destinations,
      artifacts: [{ name: 'trivy-java-db', tags: ['1'] }],
      pushDuringDownload: true,
    });
    harnesses.push(h);
    return h;
  };
  const javaStatus = async (h: Harness) =>
    (((await h.health.check()).status?.artifacts ?? {}) as Record<string, Record<string, unknown>>)[
      'trivy-java-db:1'
    ];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'oci-sync-overlap-'));
    [upstream, dest] = await Promise.all([startRegistry(), startRegistry()]);
    // big enough that the download, the upload and the gunzip run over many chunks at once
    javaDb = await generateArtifact({
      kind: 'trivy-java-db',
      dbBytes: 4 * 1024 * 1024,
      seed: 'overlap',
      updatedAt: UPDATED_AT,
      workDir: join(work, 'gen'),
    });
    await pushArtifact(upstream.url, 'aquasec/trivy-java-db', '1', javaDb);
    upProxy = await startFaultProxy({ upstream: upstream.url });
    destProxy = await startFaultProxy({ upstream: dest.url });
  });

  after(async () => {
    for (const h of harnesses) await h.close();
    await Promise.all([upProxy?.stop(), destProxy?.stop(), upstream?.stop(), dest?.stop()]);
    await rm(work, { recursive: true, force: true });
  });

  test('one download fills the store and the destination; metadata.json is read once, before the tag moves', async () => {
    upProxy.log.length = 0;
    destProxy.log.length = 0;
    const h = await harness(`state-${++n}`, [`${destProxy.host}/teed`]);
    const outcome = await h.run();
    assert.equal(outcome.status, 'success', outcome.summary);

    const layerGets = upProxy.log.filter((e) => e.method === 'GET' && e.path.includes(javaDb.layer.digest));
    assert.equal(layerGets.length, 1, 'the layer was downloaded once');
    const uploads = destProxy.log.filter(
      (e) => e.method === 'PUT' && e.path.includes('/v2/teed/trivy-java-db/blobs/uploads/'),
    );
    assert.equal(uploads.length, 2, 'config and layer were each uploaded once (no second push)');
    const manifestPut = destProxy.log.findIndex(
      (e) => e.method === 'PUT' && e.path.includes('/v2/teed/trivy-java-db/manifests/'),
    );
    assert.ok(manifestPut > destProxy.log.indexOf(uploads[1]), 'manifest after the blobs');
    assert.ok(
      h.logs.some((l) => l.includes('stored new version') && l.includes(`${destProxy.host}/teed`)),
      'the layer was teed to the destination',
    );

    const layout = await OciLayout.open(join(h.storeRoot, 'trivy-java-db'));
    assert.equal((await layout.manifestGet('1'))?.descriptor.digest, javaDb.manifestDigest);
    assert.ok(await layout.blobHas(javaDb.layer.digest));
    const head = await h.client.manifestHead(parseReference(`${dest.host}/teed/trivy-java-db:1`));
    assert.equal(head?.digest, javaDb.manifestDigest);
    await h.metadataRead();
    const s = await javaStatus(h);
    assert.equal(s.updatedAt, UPDATED_AT.toISOString().replace('.000Z', 'Z'));
    assert.ok(
      !h.logs.some((l) => l.includes('metadata.json read from the store')),
      'the version check read metadata.json: the follow-up did not read it again',
    );
    const details = outcome.details as { artifacts: { bytesPushed: number }[] };
    assert.ok(details.artifacts[0].bytesPushed >= javaDb.layer.size, 'teed bytes count as pushed');

    // a destination added later gets the stored blobs from the store, not from upstream
    upProxy.log.length = 0;
    const again = await harness(`state-${n}`, [`${destProxy.host}/teed`, `${dest.host}/later`]);
    const second = await again.run();
    assert.equal(second.status, 'success', second.summary);
    assert.equal(upProxy.log.filter((e) => e.method === 'GET' && e.path.includes('/blobs/')).length, 0);
    const later = await h.client.manifestHead(parseReference(`${dest.host}/later/trivy-java-db:1`));
    assert.equal(later?.digest, javaDb.manifestDigest);
  });

  test('a destination that breaks mid-push is pushed from the store; the store write is unharmed', async () => {
    let broken = 0;
    destProxy.setFault((req) => {
      if (broken === 0 && isLayerUpload(req, 'midpush/trivy-java-db', javaDb.layer)) {
        broken++;
        // cut the connection once 512 KiB of the streamed upload have arrived
        let seen = 0;
        req.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen >= 512 * 1024 && !req.socket.destroyed) req.socket.destroy();
        });
      }
      return undefined;
    });
    destProxy.log.length = 0;
    try {
      const h = await harness(`state-${++n}`, [`${destProxy.host}/midpush`]);
      const outcome = await h.run();
      assert.equal(outcome.status, 'success', outcome.summary);
      assert.equal(broken, 1);
      assert.ok(
        h.logs.some((l) => l.includes('push during download failed; pushing from the store afterwards')),
        'the failed tee was reported',
      );
      const layout = await OciLayout.open(join(h.storeRoot, 'trivy-java-db'));
      assert.equal((await layout.manifestGet('1'))?.descriptor.digest, javaDb.manifestDigest);
      assert.ok(await layout.blobHas(javaDb.layer.digest));
      const layerUploads = destProxy.log.filter(
        (e) =>
          e.method === 'PUT' &&
          e.path.includes('/v2/midpush/trivy-java-db/blobs/uploads/') &&
          decodeURIComponent(e.path).includes(javaDb.layer.digest),
      );
      assert.equal(layerUploads.length, 2, 'the broken streamed upload, then one from the store');
      const head = await h.client.manifestHead(parseReference(`${dest.host}/midpush/trivy-java-db:1`));
      assert.equal(head?.digest, javaDb.manifestDigest);
      const blob = await h.client.blobHead(
        parseReference(`${dest.host}/midpush/trivy-java-db:1`),
        javaDb.layer.digest,
      );
      assert.equal(blob?.size, javaDb.layer.size);
    } finally {
      destProxy.setFault(undefined);
    }
  });

  test('a flipped byte upstream leaves neither the store nor the destination with blob or manifest', async () => {
    upProxy.setFault((req) =>
      req.method === 'GET' && (req.url ?? '').includes(javaDb.layer.digest)
        ? { kind: 'flip-byte', offset: 0, relative: 0.9 }
        : undefined,
    );
    destProxy.log.length = 0;
    try {
      const h = await harness(`state-${++n}`, [`${destProxy.host}/flipped`]);
      await assert.rejects(h.run(), /DIGEST_MISMATCH|digest mismatch/i);
      // the streamed upload had started: the tee was really in use
      assert.ok(
        destProxy.log.some(
          (e) => e.method === 'PUT' && e.path.includes('/v2/flipped/trivy-java-db/blobs/uploads/'),
        ),
        'an upload was attempted during the download',
      );
      const ref = parseReference(`${dest.host}/flipped/trivy-java-db:1`);
      assert.equal(
        await h.client.blobHead(ref, javaDb.layer.digest),
        undefined,
        'no blob at the destination',
      );
      await assert.rejects(h.client.manifestHead(ref).then((d) => d ?? Promise.reject(new Error('none'))));
      const layoutDir = join(h.storeRoot, 'trivy-java-db');
      if (await exists(join(layoutDir, 'oci-layout'))) {
        const layout = await OciLayout.open(layoutDir);
        assert.equal(await layout.blobHas(javaDb.layer.digest), false, 'no blob in the store');
        assert.equal(await layout.manifestGet('1'), undefined, 'no tag in the store');
        assert.equal(await layout.cleanTemp(), 0, 'no temp file left behind');
      }
    } finally {
      upProxy.setFault(undefined);
    }
  });
});

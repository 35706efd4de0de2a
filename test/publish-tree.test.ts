// End to end: the store published as a static registry tree (oci-sync publishRegistryDir and
// `trivy-mirror publish`), served by Debian's nginx with the shipped deploy/nginx conf. skopeo copies
// every artifact out of it byte-identically, a Trivy-like client pulls and verifies, HEAD and
// writes answer like a registry, and 64 clients pulling while the daemon publishes three new
// versions never see a 404, a digest mismatch or a manifest whose blob is missing.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SeedUpstreamResult } from '@trivy-mirror/fixtures';
import { runCli } from './helpers/daemon-process.js';
import { ARTIFACT_TAGS } from './helpers/mirror-config.js';
import { MANIFEST_ACCEPT, sha256, skopeo, skopeoCopy, skopeoRaw } from './helpers/oci-e2e.js';
import {
  type PublishingMirror,
  pullWhilePublishing,
  startPublishingMirror,
} from './helpers/publishing-mirror.js';
import { type TreeNginx, trivyLikePull } from './helpers/registry-tree.js';

describe('published registry tree behind nginx (e2e)', { timeout: 240_000 }, () => {
  let m: PublishingMirror;
  let seeded: SeedUpstreamResult;
  let nginx: TreeNginx;
  let work: PublishingMirror['work'];

  before(async () => {
    m = await startPublishingMirror('publish');
    ({ seeded, nginx, work } = m);
  });
  after(() => m?.stop());

  test('skopeo copies every artifact out of nginx byte-identically', async () => {
    for (const at of ARTIFACT_TAGS) {
      const [name, tag] = at.split(':');
      const out = join(work.dir, 'skopeo', name);
      await mkdir(join(work.dir, 'skopeo'), { recursive: true });
      await skopeoCopy(`docker://${nginx.treeHost}/${name}:${tag}`, `oci:${out}:${tag}`);
      const copied = await skopeoRaw(`oci:${out}:${tag}`);
      assert.equal(copied.digest, seeded.digests[at], `${at} manifest`);
      const manifest = JSON.parse(copied.bytes.toString()) as { layers: { digest: string }[] };
      const layer = manifest.layers[0].digest;
      const file = join(out, 'blobs', 'sha256', layer.slice('sha256:'.length));
      assert.equal(sha256(await readFile(file)), layer, `${at} layer`);
    }
  });

  test('a Trivy-like pull, HEAD with Content-Length, 405 for writes, 404 in the registry format', async () => {
    const pulled = await trivyLikePull(nginx.treeUrl, 'trivy-db', '2');
    assert.equal(pulled.digest, seeded.digests['trivy-db:2']);

    const get = await fetch(`${nginx.treeUrl}/v2/trivy-db/manifests/2`, {
      headers: { accept: MANIFEST_ACCEPT },
    });
    const body = Buffer.from(await get.arrayBuffer());
    const head = await fetch(`${nginx.treeUrl}/v2/trivy-db/manifests/2`, {
      method: 'HEAD',
      headers: { accept: MANIFEST_ACCEPT },
    });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(body.length));
    assert.equal(head.headers.get('docker-content-digest'), sha256(body));
    assert.equal(head.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json');
    const byDigest = await fetch(`${nginx.treeUrl}/v2/trivy-db/manifests/${pulled.digest}`, {
      method: 'HEAD',
    });
    assert.equal(byDigest.headers.get('docker-content-digest'), pulled.digest);

    const blobHead = await fetch(`${nginx.treeUrl}/v2/trivy-db/blobs/${pulled.layerDigest}`, {
      method: 'HEAD',
    });
    assert.equal(blobHead.status, 200);
    assert.equal(blobHead.headers.get('content-length'), String(pulled.bytes));
    assert.equal(blobHead.headers.get('docker-content-digest'), pulled.layerDigest);
    const range = await fetch(`${nginx.treeUrl}/v2/trivy-db/blobs/${pulled.layerDigest}`, {
      headers: { range: 'bytes=10-19' },
    });
    assert.equal(range.status, 206);
    assert.equal((await range.arrayBuffer()).byteLength, 10);

    for (const method of ['PUT', 'POST', 'DELETE', 'PATCH']) {
      const res = await fetch(`${nginx.treeUrl}/v2/trivy-db/manifests/2`, { method, body: 'x' });
      await res.arrayBuffer();
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
    }
    const missing = await fetch(`${nginx.treeUrl}/v2/trivy-db/blobs/sha256:${'0'.repeat(64)}`);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /BLOB_UNKNOWN/);
    const { stdout } = await skopeo([
      'list-tags',
      '--tls-verify=false',
      `docker://${nginx.treeHost}/trivy-checks`,
    ]);
    assert.deepEqual(JSON.parse(stdout.toString()).Tags, ['1', '2']);
    // A Trivy artifact's tag that is not published (yet): 503 UNAVAILABLE, so Trivy tries its next
    // repository; anything else unknown stays a 404.
    const noTag = await fetch(`${nginx.treeUrl}/v2/trivy-db/manifests/9`);
    assert.equal(noTag.status, 503);
    assert.ok(noTag.headers.get('retry-after'));
    assert.match(await noTag.text(), /UNAVAILABLE/);
    const noDigest = await fetch(`${nginx.treeUrl}/v2/trivy-db/manifests/sha256:${'0'.repeat(64)}`);
    assert.equal(noDigest.status, 404);
    assert.match(await noDigest.text(), /MANIFEST_UNKNOWN/);
    const noName = await fetch(`${nginx.treeUrl}/v2/other/manifests/1`);
    assert.equal(noName.status, 404);
    await noName.arrayBuffer();
    // Trivy's upstream paths (registry.mirrors keeps them) name the same repositories.
    for (const prefix of ['aquasec', 'aquasecurity']) {
      const res = await fetch(`${nginx.treeUrl}/v2/${prefix}/trivy-db/manifests/2`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(res.status, 200, prefix);
      await res.arrayBuffer();
    }
  });

  test('blobs are hard links into the store; `trivy-mirror publish` writes the same tree once', async () => {
    const layer = (await trivyLikePull(nginx.treeUrl, 'trivy-db', '2')).layerDigest;
    const inTree = await stat(join(m.tree, 'v2/trivy-db/blobs', layer));
    const inStore = await stat(join(m.stateDir, 'oci/trivy-db/blobs/sha256', layer.slice(7)));
    assert.equal(inTree.ino, inStore.ino, 'same inode: no copy');

    const once = join(work.dir, 'once');
    const r = await runCli(['publish', '--out', once, '--config', m.config, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { repositories: { repository: string; tags: string[] }[] };
    assert.deepEqual(
      report.repositories.map((x) => `${x.repository}:${x.tags.join(',')}`),
      ['trivy-checks:1,2', 'trivy-db:2', 'trivy-java-db:1'],
    );
    const target = await readlink(join(once, 'v2/trivy-db/manifests/2'));
    assert.equal(target, `../_manifests/${seeded.digests['trivy-db:2']}.oci-manifest`);
    assert.deepEqual(await readdir(join(once, 'v2')), [
      'index.json',
      'trivy-checks',
      'trivy-db',
      'trivy-java-db',
    ]);
  });

  test('64 clients pull through nginx while the daemon publishes three new versions', async (t) => {
    const r = await pullWhilePublishing(m, { clients: 64, rounds: 3 });
    t.diagnostic(r.line);
    assert.deepEqual(
      r.errors.slice(0, 5),
      [],
      `${r.errors.length} failed pulls of ${r.pulls + r.errors.length}`,
    );
    assert.ok(r.pulls > 64, `only ${r.pulls} pulls`);
    assert.ok(r.seen >= 6, `clients saw ${r.seen} manifest digests (expected old and new versions)`);
  });
});

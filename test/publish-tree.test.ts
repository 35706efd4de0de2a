// End to end: the store published as a static registry tree (oci-sync publishRegistryDir and
// `trivy-mirror publish`), served by Debian's nginx with the shipped deploy/nginx conf. skopeo copies
// every artifact out of it byte-identically, a Trivy-like client pulls and verifies, HEAD and
// writes answer like a registry, and 64 clients pulling while the daemon publishes three new
// versions never see a 404, a digest mismatch or a manifest whose blob is missing.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningRegistry, type SeedUpstreamResult, startRegistry } from '@trivy-mirror/fixtures';
import { runJob } from './helpers/admin-api.js';
import { type DaemonProcess, eventually, freePort, runCli, startDaemon } from './helpers/daemon-process.js';
import { ARTIFACT_TAGS, seedVersion, writeMirrorConfig } from './helpers/mirror-config.js';
import {
  MANIFEST_ACCEPT,
  manifestHeadDigest,
  sha256,
  skopeo,
  skopeoCopy,
  skopeoRaw,
  tempDir,
} from './helpers/oci-e2e.js';
import { startTreeNginx, type TreeNginx, trivyLikePull } from './helpers/registry-tree.js';

describe('published registry tree behind nginx (e2e)', { timeout: 240_000 }, () => {
  let upstream: RunningRegistry;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let seeded: SeedUpstreamResult;
  let daemon: DaemonProcess;
  let nginx: TreeNginx;
  let tree: string;
  let config: string;
  let stateDir: string;

  const seed = (name: string) => seedVersion(upstream.url, work.dir, name);

  before(async () => {
    work = await tempDir('publish');
    upstream = await startRegistry();
    seeded = await seed('v0');
    tree = join(work.dir, 'registry');
    stateDir = join(work.dir, 'state');
    const adminPort = await freePort();
    config = await writeMirrorConfig(join(work.dir, 'config.yaml'), {
      stateDir,
      sources: [`${upstream.host}/aquasec`],
      adminPort,
      publishRegistryDir: tree,
    });
    daemon = await startDaemon({
      args: ['run', '--config', config],
      adminUrl: `http://127.0.0.1:${adminPort}`,
    });
    await daemon.waitForLog((l) => l.msg === 'job finished' && l.job === 'oci-sync', 90_000);
    nginx = await startTreeNginx(tree);
    await eventually(
      async () => {
        for (const at of ARTIFACT_TAGS) {
          const [name, tag] = at.split(':');
          assert.equal(
            await manifestHeadDigest(`${nginx.treeUrl}/v2/${name}/manifests/${tag}`),
            seeded.digests[at],
          );
        }
        return true;
      },
      60_000,
      'the tree serves the seeded versions',
    );
  });

  after(async () => {
    await daemon?.stop();
    await nginx?.stop();
    await upstream?.stop();
    await work?.remove();
  });

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
    const noTag = await fetch(`${nginx.treeUrl}/v2/trivy-db/manifests/9`);
    assert.equal(noTag.status, 404);
    assert.match(await noTag.text(), /MANIFEST_UNKNOWN/);
  });

  test('blobs are hard links into the store; `trivy-mirror publish` writes the same tree once', async () => {
    const layer = (await trivyLikePull(nginx.treeUrl, 'trivy-db', '2')).layerDigest;
    const inTree = await stat(join(tree, 'v2/trivy-db/blobs', layer));
    const inStore = await stat(join(stateDir, 'oci/trivy-db/blobs/sha256', layer.slice(7)));
    assert.equal(inTree.ino, inStore.ino, 'same inode: no copy');

    const once = join(work.dir, 'once');
    const r = await runCli(['publish', '--out', once, '--config', config, '--json']);
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
    let stop = false;
    const errors: string[] = [];
    const seen = new Set<string>();
    let pulls = 0;
    const client = async () => {
      while (!stop) {
        for (const [name, tag] of [
          ['trivy-db', '2'],
          ['trivy-java-db', '1'],
        ]) {
          try {
            seen.add((await trivyLikePull(nginx.treeUrl, name, tag)).digest);
            pulls++;
          } catch (err) {
            errors.push((err as Error).message);
          }
        }
      }
    };
    const clients = Array.from({ length: 64 }, client);
    try {
      for (const round of ['v1', 'v2', 'v3']) {
        const next = await seed(round);
        const run = await runJob(daemon, 'oci-sync', 90_000);
        assert.equal(run.status, 'success', run.summary);
        await eventually(
          async () => {
            assert.equal(
              await manifestHeadDigest(`${nginx.treeUrl}/v2/trivy-db/manifests/2`),
              next.digests['trivy-db:2'],
            );
            assert.equal(
              await manifestHeadDigest(`${nginx.treeUrl}/v2/trivy-java-db/manifests/1`),
              next.digests['trivy-java-db:1'],
            );
            return true;
          },
          30_000,
          `the tree serves ${round}`,
        );
        await new Promise((r) => setTimeout(r, 500)); // clients pull the new version for a while
      }
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    t.diagnostic(
      `${pulls} verified pulls by 64 clients, ${seen.size} manifest digests seen, ${errors.length} failures`,
    );
    assert.deepEqual(errors.slice(0, 5), [], `${errors.length} failed pulls of ${pulls + errors.length}`);
    assert.ok(pulls > 64, `only ${pulls} pulls`);
    assert.ok(seen.size >= 6, `clients saw ${seen.size} manifest digests (expected old and new versions)`);
  });
});

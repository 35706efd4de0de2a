// The tools Trivy's self-hosting guide names (crane, ORAS, regclient) against what the mirror serves and
// writes: the guide's manual procedure (`oras pull …/trivy-db:2`, `tar -xzf db.tar.gz`), manifests and
// digests on the embedded /v2/, the pushed destination and nginx's tree, copies out of the mirror, the
// store and an export read as OCI layouts, and regsync using the mirror as its source (a second tier).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { type RegistryTreeNginx, startRegistryTreeNginx, TRIVY_DATA } from '@trivy-mirror/fixtures';
import { runCli } from './helpers/daemon-process.js';
import { goPeers, type Peers, regsyncConfig } from './helpers/go-peers.js';
import { ARTIFACT_TAGS } from './helpers/mirror-config.js';
import { manifestHeadDigest } from './helpers/oci-e2e.js';
import { startTrivyWorld, type TrivyWorld } from './helpers/trivy-world.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const TITLES: Record<string, string> = {
  'trivy-db': 'db.tar.gz',
  'trivy-java-db': 'javadb.tar.gz',
  'trivy-checks': 'bundle.tar.gz',
};

describe('crane, oras, regctl and regsync against the mirror', { timeout: 900_000 }, () => {
  let world: TrivyWorld;
  let nginx: RegistryTreeNginx;
  let peers: Peers;
  let exported: string;
  /** Where the mirror serves or pushed the artifacts: host and repository prefix. */
  let locations: { what: string; host: string; prefix: string }[];
  before(async () => {
    world = await startTrivyWorld('peers');
    nginx = await startRegistryTreeNginx(world.treeDir);
    peers = await goPeers(await world.clientHome('peers'));
    await peers.plainHttp(world.serveHost, world.dst.host, nginx.treeHost, world.upstream.host);
    locations = [
      { what: 'embedded /v2/', host: world.serveHost, prefix: '' },
      { what: 'destination', host: world.dst.host, prefix: 'trivy/' },
      { what: 'nginx tree', host: nginx.treeHost, prefix: '' },
    ];
    exported = join(world.work.dir, 'export');
    const e = await runCli(['export', '--out', exported, '--config', world.config]);
    assert.equal(e.code, 0, `${e.stdout}${e.stderr}`);
  });
  after(async () => {
    await nginx?.stop();
    await world?.stop();
  });

  test("the guide's manual procedure: oras pull, then tar -xzf, gives upstream's files", async () => {
    for (const nameTag of ['trivy-db:2', 'trivy-java-db:1', 'trivy-checks:2']) {
      const name = nameTag.split(':')[0]!;
      const seeded = world.seeded.artifacts.find((a) => `${a.name}:${a.tag}` === nameTag)!;
      const out = join(world.work.dir, 'oras-pull', name);
      await mkdir(out, { recursive: true });
      await peers.run('oras', ['pull', '--plain-http', '-o', out, `${world.serveHost}/${nameTag}`]);
      const layer = await readFile(join(out, TITLES[name]!));
      assert.equal(sha256(layer), seeded.layerDigest, `${nameTag}: ${TITLES[name]}`);
      await promisify(execFile)('tar', ['-xzf', TITLES[name]!], { cwd: out });
      if (name === 'trivy-checks') {
        assert.ok((await readdir(join(out, 'policies/docker/policies'))).some((f) => f.endsWith('.rego')));
        continue;
      }
      const db = name === 'trivy-db' ? 'trivy.db' : 'trivy-java.db';
      const want = await readFile(name === 'trivy-db' ? TRIVY_DATA.dbFile : TRIVY_DATA.javaDbFile);
      assert.ok((await readFile(join(out, db))).equals(want), `${nameTag}: ${db} differs from upstream's`);
      assert.deepEqual(await readFile(join(out, 'metadata.json')), seeded.artifact.metadataJson);
    }
  });

  test('crane, regctl and oras read the same manifest bytes and digests everywhere the mirror serves', async () => {
    for (const { what, host, prefix } of locations) {
      for (const nameTag of ARTIFACT_TAGS) {
        const ref = `${host}/${prefix}${nameTag}`;
        const want = world.seeded.digests[nameTag];
        const where = `${what} ${nameTag}`;
        assert.equal(
          sha256((await peers.run('crane', ['manifest', '--insecure', ref])).stdout),
          want,
          `crane ${where}`,
        );
        assert.equal(
          (await peers.run('crane', ['digest', '--insecure', ref])).stdout.toString().trim(),
          want,
          where,
        );
        const regctl = await peers.run('regctl', ['manifest', 'get', '--format', 'raw-body', ref]);
        assert.equal(sha256(regctl.stdout), want, `regctl ${where}`);
        const oras = await peers.run('oras', ['manifest', 'fetch', '--plain-http', ref]);
        assert.equal(sha256(oras.stdout), want, `oras ${where}`);
      }
    }
  });

  test('crane copy, regctl image copy and oras cp out of the mirror are byte-identical', async () => {
    const src = (nameTag: string) => `${world.serveHost}/${nameTag}`;
    const dst = (tool: string, nameTag: string) => `${world.dst.host}/copies-${tool}/${nameTag}`;
    for (const nameTag of ARTIFACT_TAGS) {
      await peers.run('crane', ['copy', '--insecure', src(nameTag), dst('crane', nameTag)]);
      await peers.run('regctl', ['image', 'copy', src(nameTag), dst('regctl', nameTag)]);
      await peers.run('oras', [
        'cp',
        '--from-plain-http',
        '--to-plain-http',
        src(nameTag),
        dst('oras', nameTag),
      ]);
      for (const tool of ['crane', 'regctl', 'oras']) {
        const [repo, tag] = nameTag.split(':') as [string, string];
        const got = await manifestHeadDigest(`${world.dst.url}/v2/copies-${tool}/${repo}/manifests/${tag}`);
        assert.equal(got, world.seeded.digests[nameTag], `${tool} copy of ${nameTag}`);
      }
    }
  });

  test('oras and regctl read the store and an export as OCI layouts', async () => {
    for (const [what, root] of [
      ['store', join(world.stateDir, 'oci')],
      ['export', exported],
    ] as const) {
      for (const nameTag of ARTIFACT_TAGS) {
        const [repo, tag] = nameTag.split(':') as [string, string];
        const layout = join(root, repo);
        const want = world.seeded.digests[nameTag];
        const regctl = await peers.run('regctl', [
          'manifest',
          'get',
          '--format',
          'raw-body',
          `ocidir://${layout}:${tag}`,
        ]);
        assert.equal(sha256(regctl.stdout), want, `regctl ${what} ${nameTag}`);
        const out = join(world.work.dir, 'oras-layout', what, repo, tag);
        await mkdir(out, { recursive: true });
        await peers.run('oras', ['pull', '--oci-layout', '-o', out, `${layout}:${tag}`]);
        const seeded = world.seeded.artifacts.find((a) => `${a.name}:${a.tag}` === nameTag)!;
        assert.equal(
          sha256(await readFile(join(out, TITLES[repo]!))),
          seeded.layerDigest,
          `oras ${what} ${nameTag}`,
        );
      }
    }
  });

  test('regsync with the mirror as its source fills a second-tier registry unchanged', async () => {
    const config = await regsyncConfig(
      join(world.work.dir, 'regsync.yml'),
      { host: world.serveHost, prefix: '' },
      { host: world.dst.host, prefix: 'second-tier' },
      ['trivy-db', 'trivy-java-db', 'trivy-checks'],
    );
    await peers.run('regsync', ['once', '-c', config], 240_000);
    for (const nameTag of ARTIFACT_TAGS) {
      const [repo, tag] = nameTag.split(':') as [string, string];
      const got = await manifestHeadDigest(`${world.dst.url}/v2/second-tier/${repo}/manifests/${tag}`);
      assert.equal(got, world.seeded.digests[nameTag], `regsync ${nameTag}`);
    }
  });
});

// The real Trivy v0.74 scans the fixture project with databases and checks of the real formats, pulled
// through each way the mirror serves them: the embedded /v2/ (flags, env and trivy.yaml exactly as
// client-config prints them), the destination registry the daemon pushed to, nginx serving the static
// tree, and `trivy server` fed by the mirror with a client in --server mode (set-up: helpers/trivy-world.ts).
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startRegistryTreeNginx } from '@trivy-mirror/fixtures';
import { clientConfig } from './helpers/client-config.js';
import { eventually, freePort } from './helpers/daemon-process.js';
import { cachedChecksDigest, scanProject } from './helpers/trivy-expect.js';
import { startTrivy } from './helpers/trivy-cli.js';
import { startTrivyWorld, type TrivyWorld } from './helpers/trivy-world.js';

describe('real Trivy on every registry path the mirror serves', { timeout: 900_000 }, () => {
  let world: TrivyWorld;
  before(async () => (world = await startTrivyWorld('trivy-paths')));
  after(() => world?.stop());

  test('embedded /v2/ over plain HTTP, with the flags client-config prints', async () => {
    const cc = await clientConfig(world.config);
    assert.ok(cc.args().includes(`${world.serveHost}/trivy-db:2`), cc.oci.flags?.join(' '));
    const home = await world.clientHome('flags');
    const cache = join(home, 'cache');
    await scanProject(['--cache-dir', cache, ...cc.args()], { home }, {}, 'embedded /v2/ (flags)');
    // What Trivy recorded is the mirror's copy: the checks manifest digest is upstream's, byte for byte.
    assert.equal(await cachedChecksDigest(cache), world.seeded.digests['trivy-checks:2']);
    const meta = JSON.parse(await readFile(join(cache, 'db', 'metadata.json'), 'utf8'));
    assert.equal(meta.Version, 2);
    assert.ok(Date.parse(meta.DownloadedAt) > Date.now() - 600_000, `DownloadedAt ${meta.DownloadedAt}`);
  });

  test('embedded /v2/ with the environment client-config prints', async () => {
    const cc = await clientConfig(world.config);
    const home = await world.clientHome('env');
    await scanProject(
      ['--cache-dir', join(home, 'cache')],
      { home, env: cc.oci.env },
      { command: 'fs' },
      'embedded /v2/ (env)',
    );
  });

  test('embedded /v2/ with the trivy.yaml client-config prints', async () => {
    const cc = await clientConfig(world.config);
    const home = await world.clientHome('yaml');
    const yaml = await cc.writeTrivyYaml(home);
    await scanProject(
      ['--config', yaml, '--cache-dir', join(home, 'cache')],
      { home },
      {},
      'embedded /v2/ (trivy.yaml)',
    );
  });

  test('the destination registry the daemon pushed to', async () => {
    // A mirror that only pushes (no serve): client-config points clients at its destination.
    const text = await readFile(world.config, 'utf8');
    const pushOnly = join(world.work.dir, 'push-only.yaml');
    await writeFile(pushOnly, text.replace(/^serve: .*\n/m, ''));
    const cc = await clientConfig(pushOnly);
    assert.ok(cc.args().includes(`${world.dst.host}/trivy/trivy-db:2`), cc.oci.flags?.join(' '));
    const home = await world.clientHome('dst');
    const cache = join(home, 'cache');
    await scanProject(['--cache-dir', cache, ...cc.args()], { home }, {}, 'destination registry');
    assert.equal(await cachedChecksDigest(cache), world.seeded.digests['trivy-checks:2']);
  });

  test("Debian's nginx serving the tree publish wrote", async () => {
    const nginx = await startRegistryTreeNginx(world.treeDir);
    try {
      const cc = await clientConfig(world.config, '--public-url', nginx.treeUrl);
      assert.ok(cc.args().includes(`${nginx.treeHost}/trivy-db:2`), cc.oci.flags?.join(' '));
      const home = await world.clientHome('nginx');
      const cache = join(home, 'cache');
      await scanProject(['--cache-dir', cache, ...cc.args()], { home }, {}, 'nginx tree');
      assert.equal(await cachedChecksDigest(cache), world.seeded.digests['trivy-checks:2']);
    } finally {
      await nginx.stop();
    }
  });

  test('trivy server fed by the mirror, and a client in --server mode', async () => {
    const cc = await clientConfig(world.config);
    const args = cc.args();
    const dbFlag = args.indexOf('--db-repository');
    const serverArgs = [
      ...args.slice(dbFlag, dbFlag + 2),
      ...(args.includes('--insecure') ? ['--insecure'] : []),
    ];
    const clientArgs = args.filter((_, i) => i !== dbFlag && i !== dbFlag + 1);
    const serverHome = await world.clientHome('server');
    const port = await freePort();
    const server = await startTrivy(
      ['server', '--listen', `127.0.0.1:${port}`, '--cache-dir', join(serverHome, 'cache'), ...serverArgs],
      {
        home: serverHome,
      },
    );
    try {
      await eventually(
        async () =>
          (await fetch(`http://127.0.0.1:${port}/healthz`).then(
            (r) => r.status,
            () => 0,
          )) === 200,
        120_000,
        `trivy server on ${port}: ${server.output().slice(-2000)}`,
      );
      const home = await world.clientHome('server-client');
      await scanProject(
        ['--server', `http://127.0.0.1:${port}`, '--cache-dir', join(home, 'cache'), ...clientArgs],
        { home },
        {},
        'trivy server',
      );
      assert.match(server.output(), /Downloading vulnerability DB|Downloading DB/i);
    } finally {
      await server.stop();
    }
  });
});

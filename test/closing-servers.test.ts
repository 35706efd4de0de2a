// End to end against servers that close the connection after every response, written by no one here:
// Debian's nginx with `keepalive_timeout 0` in front of the upstream and the destination registries, and
// `python3 -m http.server` (HTTP/1.0) serving the real VEX Hub snapshot. undici 7 died on such servers
// with an uncatchable assertion when a body was under backpressure as the FIN arrived (nodejs/undici#5360).
// Every job must end byte-identical, the daemon must live on.
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type RunningNginx,
  type RunningPythonHttpServer,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startClosingRegistryProxy,
  startPythonHttpServer,
  startRegistry,
  vexhubSnapshotDir,
} from '@trivy-mirror/fixtures';
import { runJob, waitReady } from './helpers/admin-api.js';
import { type DaemonProcess, freePort, startDaemon } from './helpers/daemon-process.js';
import { MANIFEST_ACCEPT } from './helpers/oci-e2e.js';
import { trivyVexFetch } from './helpers/trivy-vex-client.js';

/** Writes `<root>/<name>/.well-known/vex-repository.json` pointing at `archive` on `baseUrl`. */
async function publishVexRepository(root: string, baseUrl: string, name: string, archive: string) {
  const manifest = JSON.parse(await readFile(join(vexhubSnapshotDir, 'vex-repository.json'), 'utf8'));
  manifest.versions[0].locations = [{ url: `${baseUrl}/archives/${archive}//vexhub-main` }];
  await mkdir(join(root, name, '.well-known'), { recursive: true });
  await writeFile(join(root, name, '.well-known', 'vex-repository.json'), JSON.stringify(manifest, null, 2));
}

async function manifestDigest(registryUrl: string, repository: string, tag: string): Promise<string | null> {
  const res = await fetch(`${registryUrl}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: MANIFEST_ACCEPT },
  });
  return res.status === 200 ? res.headers.get('docker-content-digest') : null;
}

describe('servers that close the connection after every response', { timeout: 240_000 }, () => {
  let dir: string;
  let upstream: RunningRegistry;
  let destination: RunningRegistry;
  let upstreamProxy: RunningNginx;
  let destinationProxy: RunningNginx;
  let python: RunningPythonHttpServer;
  let seeded: SeedUpstreamResult;
  let daemon: DaemonProcess;
  let serveUrl: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-e2e-closing-'));
    [upstream, destination] = await Promise.all([startRegistry(), startRegistry()]);
    [upstreamProxy, destinationProxy] = await Promise.all([
      startClosingRegistryProxy(upstream.url),
      startClosingRegistryProxy(destination.url),
    ]);
    // Layers of a few hundred KiB: bodies past the stream's high-water mark that arrive with their FIN.
    seeded = await seedUpstream({
      registryUrl: upstream.url,
      workDir: join(dir, 'seed'),
      dbBytes: 300 * 1024,
      javaDbBytes: 200 * 1024,
      seed: 'e2e-closing',
    });
    const vexRoot = join(dir, 'vex-root');
    await mkdir(join(vexRoot, 'archives'), { recursive: true });
    for (const f of ['vexhub-main.zip', 'vexhub-main.tar.gz'])
      await copyFile(join(vexhubSnapshotDir, f), join(vexRoot, 'archives', f));
    python = await startPythonHttpServer(vexRoot);
    await publishVexRepository(vexRoot, python.url, 'vexhub', 'vexhub-main.tar.gz');
    await publishVexRepository(vexRoot, python.url, 'zipped', 'vexhub-main.zip');

    const admin = await freePort();
    const serve = await freePort();
    serveUrl = `http://127.0.0.1:${serve}`;
    const config = join(dir, 'config.yaml');
    await writeFile(
      config,
      `stateDir: ${dir}/state
admin: { listen: 127.0.0.1:${admin} }
serve: { listen: 127.0.0.1:${serve}, publicUrl: ${serveUrl} }
log: { level: info, format: json }
plugins:
  auth-providers: { dockerConfig: false }
  oci-sync:
    schedule: "17 */6 * * *"
    sources: [${upstreamProxy.host}/aquasec]
    destinations: [${destinationProxy.host}/mirror]
  cache-populator:
    targets: [{ dir: ${dir}/cache }]
  vexhub-mirror:
    repositories:
      - { name: vexhub, url: ${python.url}/vexhub }
      - { name: zipped, url: ${python.url}/zipped }
`,
    );
    daemon = await startDaemon({ args: ['run', '--config', config], adminUrl: `http://127.0.0.1:${admin}` });
    await waitReady(daemon, 90_000);
  });

  after(async () => {
    await daemon?.stop().catch(() => {});
    await Promise.allSettled([
      upstreamProxy?.stop(),
      destinationProxy?.stop(),
      python?.stop(),
      upstream?.stop(),
      destination?.stop(),
    ]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the proxies really close: nginx answers with Connection: close', async () => {
    for (const proxy of [upstreamProxy, destinationProxy]) {
      const res = await fetch(`${proxy.url}/v2/`);
      await res.arrayBuffer();
      assert.equal(res.headers.get('connection'), 'close', proxy.host);
    }
  });

  test('sync through nginx: the destination holds every artifact byte-identical', async () => {
    for (const [key, digest] of Object.entries(seeded.digests)) {
      const [name, tag] = key.split(':') as [string, string];
      assert.equal(await manifestDigest(destination.url, `mirror/${name}`, tag), digest, key);
    }
    const db = JSON.parse(await readFile(join(dir, 'cache/db/metadata.json'), 'utf8'));
    assert.equal(db.Version, 2);
    assert.ok((await stat(join(dir, 'cache/db/trivy.db'))).size > 0);
  });

  test('VEX from python http.server: both archives served byte-identical', async () => {
    const zip = await trivyVexFetch(`${serveUrl}/zipped`, join(dir, 'trivy-zip'));
    assert.equal(zip.type, 'zip');
    assert.ok(zip.archive.equals(await readFile(join(vexhubSnapshotDir, 'vexhub-main.zip'))));
    const tgz = await trivyVexFetch(`${serveUrl}/vexhub`, join(dir, 'trivy-tgz'));
    assert.equal(tgz.type, 'tar.gz');
    assert.ok(tgz.archive.equals(await readFile(join(vexhubSnapshotDir, 'vexhub-main.tar.gz'))));
  });

  test('repeated runs against closing servers: every job ends, the daemon lives on', async () => {
    for (let round = 0; round < 3; round++) {
      for (const job of ['oci-sync', 'vexhub-mirror', 'cache-populator']) {
        const run = await runJob(daemon, job);
        assert.ok(
          ['success', 'skipped'].includes(run.status),
          `${job} round ${round}: ${JSON.stringify(run)}`,
        );
      }
    }
    const health = await fetch(`${daemon.adminUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await fetch(`${daemon.adminUrl}/readyz`)).status, 200);
    const fatal = daemon.logs().filter((l) => Number(l.level) >= 50);
    assert.deepEqual(fatal, [], 'no error or fatal log lines');
    assert.equal(daemon.child.exitCode, null, 'still running');
  });
});

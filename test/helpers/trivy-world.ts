// The world of the real-Trivy suites (test/trivy-*.test.ts): a loopback "upstream" docker-registry
// seeded with databases and checks of the real formats (trivy-data), a VEX host serving the VEX Hub
// snapshot plus the fixture statement, a destination registry, and the built daemon syncing all of it,
// serving /v2/ and VEX, pushing, publishing a static registry tree and filling a cache dir.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type FaultFn,
  type FaultProxy,
  fixtureVexZip,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startFaultProxy,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { waitReady } from './admin-api.js';
import { type DaemonProcess, eventually, freePort, startDaemon } from './daemon-process.js';
import { tempDir } from './oci-e2e.js';
import { startVexServer, type VexServer } from './vex-server.js';

export interface TrivyWorld {
  work: Awaited<ReturnType<typeof tempDir>>;
  upstream: RunningRegistry;
  dst: RunningRegistry;
  vex: VexServer;
  seeded: SeedUpstreamResult;
  stateDir: string;
  /** The cache dir the daemon fills (every part, VEX included). */
  cacheDir: string;
  /** oci-sync publishRegistryDir: a static registry tree for nginx. */
  treeDir: string;
  config: string;
  daemon: DaemonProcess;
  /** With `sourceFault`: the proxy the daemon syncs through. */
  proxy?: FaultProxy;
  serveUrl: string;
  serveHost: string;
  /** A fresh home for one Trivy client (its own cache, XDG dirs and temp dir). */
  clientHome(name: string): Promise<string>;
  stop(): Promise<void>;
}

export interface TrivyWorldOptions {
  /** Extra lines under `plugins:` → `oci-sync:` (indented by the caller). */
  ociSyncExtra?: string[];
  /** serve over TLS with this certificate and key (publicUrl https://). */
  tls?: { cert: string; key: string };
  /** serve asks for Basic auth checked against this htpasswd file. */
  htpasswd?: string;
  /**
   * The daemon's source is a fault proxy in front of the upstream (world.proxy), with this fault from
   * the start; the world then does not wait for readiness, only for the first oci-sync run to end.
   */
  sourceFault?: FaultFn;
}

export async function startTrivyWorld(
  name: string,
  options: TrivyWorldOptions | ((dir: string) => Promise<TrivyWorldOptions>) = {},
): Promise<TrivyWorld> {
  const work = await tempDir(name);
  if (typeof options === 'function') options = await options(work.dir);
  const [upstream, dst, vex] = await Promise.all([startRegistry(), startRegistry(), startVexServer()]);
  vex.setArchive('zip', await fixtureVexZip());
  const seeded = await seedUpstream({
    registryUrl: upstream.url,
    prefix: 'aquasec',
    workDir: join(work.dir, 'seed'),
    content: 'real',
    seed: name,
    updatedAt: new Date(Math.floor(Date.now() / 1000) * 1000),
  });
  const proxy = options.sourceFault
    ? await startFaultProxy({ upstream: upstream.url, fault: options.sourceFault })
    : undefined;
  const stateDir = join(work.dir, 'state');
  const cacheDir = join(work.dir, 'cache-daemon');
  const treeDir = join(work.dir, 'tree');
  const adminPort = await freePort();
  const servePort = await freePort();
  const serveHost = `127.0.0.1:${servePort}`;
  const config = join(work.dir, 'daemon.yaml');
  await writeFile(
    config,
    [
      `stateDir: ${stateDir}`,
      `admin: { listen: 127.0.0.1:${adminPort} }`,
      options.tls
        ? `serve: { listen: ${serveHost}, publicUrl: https://${serveHost}, tls: { cert: ${options.tls.cert}, key: ${options.tls.key} } }`
        : `serve: { listen: ${serveHost}, publicUrl: http://${serveHost} }`,
      'log: { level: info, format: json }',
      'plugins:',
      options.htpasswd
        ? `  auth-providers: { dockerConfig: false, serve: { htpasswd: ${options.htpasswd}, realm: trivy-mirror } }`
        : '  auth-providers: { dockerConfig: false }',
      '  oci-sync:',
      '    schedule: "0 0 1 1 *"',
      `    sources: [${(proxy ?? upstream).host}/aquasec]`,
      `    destinations: [${dst.host}/trivy]`,
      `    publishRegistryDir: ${treeDir}`,
      ...(options.ociSyncExtra ?? []),
      `  cache-populator: { targets: [{ dir: ${cacheDir}, include: [db, java-db, checks, vex] }] }`,
      `  vexhub-mirror: { schedule: "0 0 1 1 *", repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }`,
      '',
    ].join('\n'),
  );
  const daemon = await startDaemon({
    args: ['run', '--config', config],
    adminUrl: `http://127.0.0.1:${adminPort}`,
  });
  try {
    if (!proxy) await waitReady(daemon, 60_000);
    else
      await eventually(
        async () => {
          const res = await fetch(`${daemon.adminUrl}/jobs`);
          const body = (await res.json()) as { jobs: { id: string; lastRun?: { status: string } }[] };
          return body.jobs.find((j) => j.id === 'oci-sync')?.lastRun?.status !== undefined;
        },
        60_000,
        'the start-up oci-sync run',
      );
  } catch (err) {
    await daemon.stop();
    await proxy?.stop();
    throw err;
  }
  const homes = join(work.dir, 'homes');
  await mkdir(homes, { recursive: true });
  return {
    work,
    upstream,
    dst,
    vex,
    seeded,
    stateDir,
    cacheDir,
    treeDir,
    config,
    daemon,
    proxy,
    serveUrl: `${options.tls ? 'https' : 'http'}://${serveHost}`,
    serveHost,
    async clientHome(client) {
      return mkdtemp(join(homes, `${client}-`));
    },
    async stop() {
      // Parts a test stopped already (the air gap stops the upstreams) are fine to stop again.
      await Promise.allSettled([daemon.stop(), vex.close(), upstream.stop(), dst.stop(), proxy?.stop()]);
      await work.remove();
    },
  };
}

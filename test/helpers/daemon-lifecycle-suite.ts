// The world of the daemon lifecycle e2e files (test/daemon-*.test.ts): a seeded upstream registry
// behind a proxy that slows manifests down (so the first sync is still busy when a test looks at
// /readyz), a destination registry, a VEX server and a webhook endpoint; the main daemon's config
// (every plugin plus the external example plugin); and the admin API's JSON as those files read it.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FaultProxy, RunningRegistry, SeedUpstreamResult } from '@trivy-mirror/fixtures';
import { seedUpstream, startFaultProxy, startRegistry } from '@trivy-mirror/fixtures';
import { type DaemonProcess, freePort } from './daemon-process.js';
import { type HookServer, startHookServer } from './hook-server.js';
import { startVexServer, type VexServer } from './vex-server.js';

export interface JobJson {
  id: string;
  schedule?: string;
  nextRun?: string;
  running: boolean;
  lastRun?: {
    runId: string;
    status: string;
    reason: string;
    bytes?: number;
    startedAt: string;
    endedAt?: string;
    details?: { artifacts?: unknown[] };
  };
}
export interface StatusJson {
  ready: boolean;
  phase: string;
  jobs: JobJson[];
  components: Record<string, Record<string, unknown>>;
}

export const getJson = async <T>(url: string): Promise<T> => {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${url} answered ${res.status}`);
  return (await res.json()) as T;
};

export interface LifecycleWorld {
  dir: string;
  upstream: RunningRegistry;
  destination: RunningRegistry;
  /** The upstream as the main daemon sees it: manifests slow while slowManifests.on. */
  proxy: FaultProxy;
  vex: VexServer;
  hook: HookServer;
  seeded: SeedUpstreamResult;
  slowManifests: { on: boolean };
  /** Daemons a test started: killed by stop() whatever state the test left them in. */
  started: DaemonProcess[];
  stop(): Promise<void>;
}

export async function startLifecycleWorld(name: string): Promise<LifecycleWorld> {
  const dir = await mkdtemp(join(tmpdir(), `tm-e2e-${name}-`));
  const [upstream, destination, vex, hook] = await Promise.all([
    startRegistry(),
    startRegistry(),
    startVexServer(),
    startHookServer(),
  ]);
  const seeded = await seedUpstream({
    registryUrl: upstream.url,
    workDir: join(dir, 'seed'),
    dbBytes: 96 * 1024,
    javaDbBytes: 96 * 1024,
    seed: 'e2e-lifecycle',
  });
  // The first sync must not finish before we look at /readyz: manifests are slow until it is over.
  const slowManifests = { on: true };
  const proxy = await startFaultProxy({
    upstream: upstream.url,
    fault: (req) =>
      slowManifests.on && req.method === 'GET' && /\/manifests\//.test(req.url ?? '')
        ? { kind: 'delay', ms: 1200 }
        : undefined,
  });
  const started: DaemonProcess[] = [];
  return {
    dir,
    upstream,
    destination,
    proxy,
    vex,
    hook,
    seeded,
    slowManifests,
    started,
    async stop() {
      for (const d of started) await d.stop('SIGKILL').catch(() => {});
      await Promise.allSettled([
        upstream.stop(),
        destination.stop(),
        proxy.stop(),
        vex.close(),
        hook.close(),
      ]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface MainConfig {
  adminUrl: string;
  serveHost: string;
  configPath: string;
  /** The config text with oci-sync on `schedule` (configPath holds the one SIGHUP tests start from). */
  mainConfig: (schedule: string) => string;
}

/** Writes DIR/config.yaml for the main daemon: every plugin plus the external example plugin. */
export async function writeMainConfig(w: LifecycleWorld): Promise<MainConfig> {
  const adminPort = await freePort();
  const servePort = await freePort();
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const serveHost = `127.0.0.1:${servePort}`;
  const configPath = join(w.dir, 'config.yaml');
  const mainConfig = (schedule: string) => `stateDir: ${w.dir}/state
admin: { listen: 127.0.0.1:${adminPort} }
serve: { listen: ${serveHost}, publicUrl: http://${serveHost} }
log: { level: info, format: json }
plugins:
  auth-providers: { dockerConfig: false }
  oci-sync:
    schedule: "${schedule}"
    sources: [${w.proxy.host}/aquasec]
    destinations: [${w.destination.host}/mirror]
  cache-populator:
    targets: [{ dir: ${w.dir}/cache }]
    checkIntervalSeconds: 1
  vexhub-mirror: { repositories: [{ name: vexhub, url: ${w.vex.url}/vexhub }] }
  external:
    - module: '@trivy-mirror/example-plugin-webhook'
      options: { url: ${w.hook.url}/hook, events: [artifact.stored] }
`;
  await writeFile(configPath, mainConfig('17 */6 * * *'));
  return { adminUrl, serveHost, configPath, mainConfig };
}

// The two sites of the air-gap suites: a connected side that synced twice from a loopback upstream
// registry and VEX server and exported after each (export-1: a version 4 days old, NextUpdate 3 days
// past; export-2: newer db, java-db and VEX Hub); the upstreams then stopped; and an inside daemon
// with no upstream, on the printed inside profile (oci-sync sources: [], VEX source: import, a registry
// inside as destination) started after `import export-1`.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import {
  generateArtifact,
  pushArtifact,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { waitReady } from './admin-api.js';
import { type DaemonProcess, freePort, runCli, startDaemon } from './daemon-process.js';
import { MANIFEST_ACCEPT, skopeoRaw, tempDir } from './oci-e2e.js';
import { setYamlPaths } from './local-config.js';
import { startVexServer } from './vex-server.js';
import { zipWithExtraDocument } from './vex-variants.js';

const DAY = 86_400_000;
const KiB = 1024;

export type Json = Record<string, unknown>;

export interface AirGap {
  work: Awaited<ReturnType<typeof tempDir>>;
  /** Stopped before the inside daemon started: nothing may mention them. */
  upstreamHosts: string[];
  /** A registry inside the air gap that the inside daemon pushes to (like a Harbor). */
  internal: RunningRegistry;
  first: SeedUpstreamResult;
  /** Manifest digests of export-2's trivy-db and trivy-java-db. */
  newDigests: Record<string, string>;
  newZip: Buffer;
  connectedState: string;
  export1: string;
  export2: string;
  insideConfig: string;
  insideState: string;
  cacheDir: string;
  publicUrl: string;
  daemon: DaemonProcess;
  /** What the connected side held at the first export: VEX archive bytes and upstream manifest. */
  connectedVex: { archive: Buffer; manifest: Json };
  /** GET with the registry Accept list, whole body. */
  get(url: string): Promise<{ status: number; body: Buffer }>;
  /** The trivy-db:2 manifest digest the inside daemon serves, as skopeo reads it. */
  servedDbDigest(): Promise<string>;
  /** `trivy-mirror import DIR --config inside.yaml ARGS…`. */
  importInside(dir: string, ...args: string[]): ReturnType<typeof runCli>;
  /** The UpdatedAt of export-1's trivy-db (metadata.json in its layer). */
  firstDbUpdatedAt(): unknown;
  stop(): Promise<void>;
}

async function connectedVexNow(connectedState: string): Promise<AirGap['connectedVex']> {
  const repo = join(connectedState, 'plugins', 'vexhub-mirror', 'repositories', 'vexhub');
  const cur = JSON.parse(await readFile(join(repo, 'current.json'), 'utf8')) as { version: string };
  return {
    archive: await readFile(join(repo, 'versions', cur.version, 'archive.zip')),
    manifest: JSON.parse(
      await readFile(join(repo, 'versions', cur.version, 'upstream-vex-repository.json'), 'utf8'),
    ) as Json,
  };
}

async function httpGet(url: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(url, { headers: { accept: MANIFEST_ACCEPT }, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

/** A describe() whose `site` is filled by before() (startAirGap) and stopped by after(). */
export function describeAirGap(title: string, name: string, body: (site: AirGap) => void): void {
  describe(title, { timeout: 300_000 }, () => {
    const site = {} as AirGap;
    before(async () => {
      Object.assign(site, await startAirGap(name));
    });
    after(() => site.stop?.());
    body(site);
  });
}

export async function startAirGap(name: string): Promise<AirGap> {
  const work = await tempDir(name);
  const upstream = await startRegistry();
  const vex = await startVexServer();
  // The first version is 4 days old and its NextUpdate 3 days past: stale inside (staleAfterHours 24).
  const old = new Date(Math.floor((Date.now() - 4 * DAY) / 1000) * 1000);
  const first = await seedUpstream({
    registryUrl: upstream.url,
    prefix: 'aquasec',
    workDir: join(work.dir, 'seed'),
    dbBytes: 256 * KiB,
    javaDbBytes: 256 * KiB,
    seed: 'airgap-1',
    updatedAt: old,
    nextUpdate: new Date(old.getTime() + DAY),
  });
  const connectedState = join(work.dir, 'connected');
  const connectedConfig = join(work.dir, 'connected.yaml');
  await writeFile(
    connectedConfig,
    [
      `stateDir: ${connectedState}`,
      'admin: { listen: 127.0.0.1:0 }',
      'plugins:',
      '  auth-providers: { dockerConfig: false }',
      `  oci-sync: { sources: [${upstream.host}/aquasec] }`,
      `  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }`,
      '',
    ].join('\n'),
  );
  const connected = async (out: string) => {
    const s = await runCli(['sync', '--config', connectedConfig]);
    assert.equal(s.code, 0, `sync: ${s.stdout}${s.stderr}`);
    const e = await runCli(['export', '--out', out, '--config', connectedConfig]);
    assert.equal(e.code, 0, `export: ${e.stdout}${e.stderr}`);
    assert.match(e.stdout, /exported vex vexhub/);
  };
  const export1 = join(work.dir, 'export-1');
  await connected(export1);
  const connectedVex = await connectedVexNow(connectedState);

  // A newer upstream: new trivy-db and java-db (fresh), a VEX Hub with one more document.
  const newDigests: Record<string, string> = {};
  const fresh = new Date(Math.floor(Date.now() / 1000) * 1000);
  for (const [kind, tag] of [
    ['trivy-db', '2'],
    ['trivy-java-db', '1'],
  ] as const) {
    const a = await generateArtifact({
      kind,
      dbBytes: 256 * KiB,
      seed: 'airgap-2',
      updatedAt: fresh,
      workDir: join(work.dir, 'seed-2'),
    });
    await pushArtifact(upstream.url, `aquasec/${kind}`, tag, a);
    newDigests[kind] = a.manifestDigest;
  }
  const newZip = (await zipWithExtraDocument()).archive;
  vex.setArchive('zip', newZip);
  const export2 = join(work.dir, 'export-2');
  await connected(export2);

  // Nothing outside is reachable from now on.
  await vex.close();
  await upstream.stop();

  const internal = await startRegistry();
  const admin = await freePort();
  const serve = await freePort();
  const publicUrl = `http://127.0.0.1:${serve}`;
  const cacheDir = join(work.dir, 'cache');
  const insideConfig = join(work.dir, 'inside.yaml');
  // The inside daemon runs on `config example --profile inside` as printed, made local.
  const printed = await runCli(['config', 'example', '--profile', 'inside'], { timeoutMs: 20_000 });
  assert.equal(printed.code, 0, printed.stderr);
  await writeFile(
    insideConfig,
    setYamlPaths(printed.stdout, [
      [['stateDir'], join(work.dir, 'inside')],
      [['admin', 'listen'], `127.0.0.1:${admin}`],
      [['serve', 'listen'], `127.0.0.1:${serve}`],
      [['serve', 'publicUrl'], publicUrl],
      [['log', 'level'], 'info'],
      [['log', 'format'], 'json'],
      [['plugins', 'auth-providers', 'dockerConfig'], false],
      [['plugins', 'oci-sync', 'destinations'], [`${internal.host}/trivy`]],
      [['plugins', 'oci-sync', 'keepVersions'], 2],
      [['plugins', 'oci-sync', 'staleAfterHours'], 24],
      [['plugins', 'cache-populator', 'checkIntervalSeconds'], 1],
      [['plugins', 'cache-populator', 'targets', 0, 'dir'], cacheDir],
    ]),
  );
  const check = await runCli(['config', 'check', '--config', insideConfig], { timeoutMs: 20_000 });
  assert.equal(check.code, 0, `inside profile: ${check.stdout}${check.stderr}`);
  const im = await runCli(['import', export1, '--config', insideConfig]);
  assert.equal(im.code, 0, `import: ${im.stdout}${im.stderr}`);
  assert.match(im.stdout, /imported vex vexhub/);
  assert.match(im.stdout, /no daemon answering/);
  const daemon = await startDaemon({
    args: ['run', '--config', insideConfig],
    adminUrl: `http://127.0.0.1:${admin}`,
  });
  await waitReady(daemon, 60_000);
  return {
    work,
    upstreamHosts: [upstream.host, vex.url.slice('http://'.length)],
    internal,
    first,
    newDigests,
    newZip,
    connectedState,
    export1,
    export2,
    insideConfig,
    insideState: join(work.dir, 'inside'),
    cacheDir,
    publicUrl,
    daemon,
    connectedVex,
    get: httpGet,
    servedDbDigest: async () => (await skopeoRaw(`docker://${publicUrl.slice(7)}/trivy-db:2`)).digest,
    importInside: (dir, ...args) => runCli(['import', dir, '--config', insideConfig, ...args]),
    firstDbUpdatedAt: () => {
      const db = first.artifacts.find((a) => a.name === 'trivy-db');
      return (JSON.parse(db!.artifact.metadataJson!.toString()) as Json).UpdatedAt;
    },
    async stop() {
      await daemon.stop();
      await internal.stop();
      await work.remove();
    },
  };
}

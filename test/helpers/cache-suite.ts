// The world of the cache-populator e2e files (test/cache-*.test.ts): a registry and an OCI layout store
// seeded with the same four artifacts, optionally a daemon with a cache target syncing from that
// registry; plus what those files read of a cache dir (a part's link, metadata and db; leftovers).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type GeneratedArtifact,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { waitReady } from './admin-api.js';
import { type DaemonProcess, freePort, runCli, startDaemon } from './daemon-process.js';
import { tempDir } from './oci-e2e.js';
import type { CacheExpectation } from './trivy-rules.js';
import { startVexServer } from './vex-server.js';

export const MiB = 1024 * 1024;

export interface CacheSuite {
  root: string;
  registry: RunningRegistry;
  /** The OCI layout store seeded like the registry. */
  storeDir: string;
  seeded: SeedUpstreamResult;
  artifact(name: string, tag: string): GeneratedArtifact;
  /** What assertTrivyCache expects of a cache populated from the seeded versions between from and to. */
  expectation(from: number, to: number): CacheExpectation;
  stop(): Promise<void>;
}

export async function startCacheSuite(name: string): Promise<CacheSuite> {
  const work = await tempDir(name);
  const root = work.dir;
  const registry = await startRegistry();
  const storeDir = path.join(root, 'store');
  const seeded = await seedUpstream({
    registryUrl: registry.url,
    layoutRoot: storeDir,
    prefix: 'aquasec',
    workDir: path.join(root, 'work'),
    dbBytes: 4 * MiB,
    javaDbBytes: 2 * MiB,
    seed: 'e2e-cache',
  });
  const artifact = (name: string, tag: string): GeneratedArtifact => {
    const a = seeded.artifacts.find((x) => x.name === name && x.tag === tag);
    assert.ok(a, `seeded ${name}:${tag}`);
    return a.artifact;
  };
  return {
    root,
    registry,
    storeDir,
    seeded,
    artifact,
    expectation: (from, to) => ({
      db: { layerPath: artifact('trivy-db', '2').layer.path },
      javaDb: { layerPath: artifact('trivy-java-db', '1').layer.path },
      checks: {
        layerPath: artifact('trivy-checks', '2').layer.path,
        manifestDigest: seeded.digests['trivy-checks:2']!,
        major: 2,
      },
      from,
      to,
    }),
    async stop() {
      // a test may have stopped the registry already (to cut the network); stop() again is a no-op
      await registry.stop();
      await work.remove();
    },
  };
}

export interface CacheDaemonSuite extends CacheSuite {
  daemon: DaemonProcess;
  cacheDir: string;
  stateDir: string;
  startedAt: number;
}

/** startCacheSuite plus a ready daemon syncing from its registry into a cache target of every part. */
export async function startCacheDaemonSuite(name: string): Promise<CacheDaemonSuite> {
  const suite = await startCacheSuite(name);
  const vex = await startVexServer();
  const cacheDir = path.join(suite.root, 'cache-daemon');
  const stateDir = path.join(suite.root, 'state');
  const admin = await freePort();
  const serve = await freePort();
  const config = path.join(suite.root, 'daemon.yaml');
  await fs.writeFile(
    config,
    [
      `stateDir: ${stateDir}`,
      `admin: { listen: 127.0.0.1:${admin} }`,
      `serve: { listen: 127.0.0.1:${serve}, publicUrl: http://127.0.0.1:${serve} }`,
      'log: { level: info, format: json }',
      'plugins:',
      '  auth-providers: { dockerConfig: false }',
      `  oci-sync: { sources: [${suite.registry.host}/aquasec] }`,
      `  cache-populator: { targets: [{ dir: ${cacheDir}, include: [db, java-db, checks] }] }`,
      `  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }`,
      '',
    ].join('\n'),
  );
  const startedAt = Date.now();
  const daemon = await startDaemon({
    args: ['run', '--config', config],
    adminUrl: `http://127.0.0.1:${admin}`,
  });
  await waitReady(daemon);
  const stop = async () => {
    await daemon.stop();
    await vex.close();
    await suite.stop();
  };
  return { ...suite, daemon, cacheDir, stateDir, startedAt, stop };
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

/** What a reader sees of one part: where the link points, the metadata bytes, the db bytes. */
export async function snapshot(cacheDir: string, part: 'db' | 'java-db', dbFile: string) {
  const dir = path.join(cacheDir, part);
  return {
    target: await fs.readlink(dir),
    metadata: await fs.readFile(path.join(dir, 'metadata.json'), 'utf8'),
    db: await sha256File(path.join(dir, dbFile)),
  };
}

export async function leftovers(cacheDir: string): Promise<string[]> {
  return (await fs.readdir(cacheDir)).filter(
    (n) => n.startsWith('.trivy-mirror-staging-') || n.startsWith('.trivy-mirror-link-'),
  );
}

/** The arguments of `trivy-mirror populate` of the db part only, from an OCI layout store. */
export function populateDbArgs(cacheDir: string, store: string, ...extra: string[]): string[] {
  return ['populate', '--cache-dir', cacheDir, '--from-store', store, '--only', 'db', ...extra];
}

/** `populate --only db` from `store` into `cacheDir`; it must succeed. */
export async function populateDb(cacheDir: string, store: string): Promise<void> {
  const r = await runCli(populateDbArgs(cacheDir, store));
  assert.equal(r.code, 0, r.stderr + r.stdout);
}

export function parseJsonOut(stdout: string): {
  ok: boolean;
  parts: { key: string; status: string; ms: number; bytes?: number; error?: string }[];
} {
  return JSON.parse(stdout.slice(stdout.indexOf('{')));
}

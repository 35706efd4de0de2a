// The world of the oci-sync e2e files (test/sync-*.test.ts): a seeded upstream registry behind a
// counting fault proxy (no faults unless a test sets one), two destination registries, a VEX server and
// the main config (upstream through the proxy → store → both destinations, plus VEX).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { FaultProxy, RunningRegistry, SeedUpstreamResult } from '@trivy-mirror/fixtures';
import {
  generateArtifact,
  pushArtifact,
  seedUpstream,
  startFaultProxy,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { type DaemonProcess, eventually, freePort, runCli, startDaemon } from './daemon-process.js';
import { writeMirrorConfig } from './mirror-config.js';
import { tempDir } from './oci-e2e.js';
import { startVexServer, type VexServer } from './vex-server.js';

const MiB = 1024 * 1024;

export interface SyncSuite {
  work: Awaited<ReturnType<typeof tempDir>>;
  upstream: RunningRegistry;
  dst1: RunningRegistry;
  dst2: RunningRegistry;
  /** No-fault proxy in front of the upstream: counts requests; faults are set per test. */
  counting: FaultProxy;
  vex: VexServer;
  seeded: SeedUpstreamResult;
  mainConfig: string;
  mainState: string;
  stop(): Promise<void>;
}

export async function startSyncSuite(name: string): Promise<SyncSuite> {
  const work = await tempDir(name);
  const [upstream, dst1, dst2] = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
  const counting = await startFaultProxy({ upstream: upstream.url });
  const vex = await startVexServer();
  const seeded = await seedUpstream({
    registryUrl: upstream.url,
    prefix: 'aquasec',
    workDir: join(work.dir, 'seed'),
    dbBytes: 2 * MiB,
    javaDbBytes: 2 * MiB,
    seed: 'sync-e2e',
    updatedAt: new Date(Math.floor(Date.now() / 1000) * 1000),
  });
  const mainState = join(work.dir, 'state-main');
  const mainConfig = await writeMirrorConfig(join(work.dir, 'main.yaml'), {
    stateDir: mainState,
    sources: [`${counting.host}/aquasec`],
    destinations: [`${dst1.host}/mirror`, `${dst2.host}/trivy/internal`],
    adminPort: await freePort(),
    vexUrl: `${vex.url}/vexhub`,
  });
  const stop = async () => {
    await counting.stop();
    await vex.close();
    await Promise.all([upstream.stop(), dst1.stop(), dst2.stop()]);
    await work.remove();
  };
  return { work, upstream, dst1, dst2, counting, vex, seeded, mainConfig, mainState, stop };
}

/**
 * The main store with a history, as a connected side has one: synced, then synced again after a newer
 * trivy-db:2 upstream, so an older version stays beside the tagged one (import takes only tagged ones).
 */
export async function syncMainWithHistory(s: SyncSuite): Promise<void> {
  const sync = async () => {
    const r = await runCli(['sync', '--config', s.mainConfig]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  };
  await sync();
  const next = await generateArtifact({
    kind: 'trivy-db',
    dbBytes: 2 * MiB,
    seed: 'sync-e2e-history',
    workDir: join(s.work.dir, 'history'),
  });
  await pushArtifact(s.upstream.url, 'aquasec/trivy-db', '2', next);
  await sync();
}

export interface ServingDaemon {
  daemon: DaemonProcess;
  serveUrl: string;
  adminUrl: string;
  daemonConfig: string;
}

/** A daemon on the main store (no destinations) serving /v2/; its start-up oci-sync run fills the store. */
export async function startServingDaemon(s: SyncSuite): Promise<ServingDaemon> {
  const adminPort = await freePort();
  const servePort = await freePort();
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const serveUrl = `http://127.0.0.1:${servePort}`;
  const daemonConfig = await writeMirrorConfig(join(s.work.dir, 'daemon.yaml'), {
    stateDir: s.mainState,
    sources: [`${s.counting.host}/aquasec`],
    adminPort,
    servePort,
    vexUrl: `${s.vex.url}/vexhub`,
  });
  const daemon = await startDaemon({ args: ['run', '--config', daemonConfig], adminUrl });
  await eventually(
    async () => {
      const res = await fetch(`${adminUrl}/jobs`);
      const body = (await res.json()) as { jobs: { id: string; lastRun?: { status: string } }[] };
      return body.jobs.find((j) => j.id === 'oci-sync')?.lastRun?.status !== undefined;
    },
    30_000,
    'the start-up oci-sync run',
  );
  return { daemon, serveUrl, adminUrl, daemonConfig };
}

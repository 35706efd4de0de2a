// The serve benches' trivy-mirror side: a state dir filled by one `trivy-mirror sync` of the bench's
// java-db upstream, then `trivy-mirror run` serving it (started, ready, CPU settled, blob checked).
import { dirname, join } from 'node:path';
import { freePort, writeArtifactToLayout } from '@trivy-mirror/fixtures';
import type { BenchContext, JavaDbUpstream } from './bench-context.js';
import {
  type RunningDaemon,
  startDaemon,
  trivyMirror,
  waitUntilQuiet,
  writeDaemonConfig,
} from './daemon-cli.js';
import { describeFailure } from './measure.js';
import { curlGet } from './registry-checks.js';
import { findPidByCmdline } from './system.js';

export interface ServingDaemon {
  daemon: RunningDaemon;
  config: string;
  stateDir: string;
  /** The java-db blob on the embedded /v2/. */
  blobUrl: string;
}

export async function startServingDaemon(
  ctx: BenchContext,
  up: JavaDbUpstream,
  timeoutMs: number,
  notes: string[],
): Promise<ServingDaemon> {
  const dir = await ctx.tempDir('serve');
  const stateDir = join(dir, 'state');
  const adminPort = await freePort();
  const servePort = await freePort();
  const config = await writeDaemonConfig(join(dir, 'config.yaml'), {
    stateDir,
    adminPort,
    servePort,
    sources: [`${up.registry.host}/aquasec`],
    artifacts: [{ name: 'trivy-java-db', tags: ['1'] }],
    vexUrl: await ctx.vexUrl(),
  });
  const sync = await trivyMirror(['sync', '--config', config, '--only', 'oci-sync'], timeoutMs);
  if (sync.exitCode !== 0) {
    // Serving is measured anyway: fill the store the way sync would have.
    notes.push(`sync failed, store written directly: ${describeFailure(sync)}`);
    ctx.log(notes[notes.length - 1]);
    await writeArtifactToLayout(join(stateDir, 'oci', 'trivy-java-db'), '1', up.artifact);
  }
  const daemon = await startDaemon(config, adminPort, 120_000);
  ctx.onCleanup(() => daemon.stop());
  const waited = await waitUntilQuiet(daemon, 60_000);
  ctx.log(`daemon ready and quiet after ${waited} ms more`);
  const blobUrl = `http://127.0.0.1:${servePort}/v2/trivy-java-db/blobs/${up.artifact.layer.digest}`;
  await expectBlob(blobUrl, up.artifact.layer.size, timeoutMs);
  return { daemon, config, stateDir, blobUrl };
}

/** One GET that must answer 200 with the full size (and warms the page cache). */
export async function expectBlob(url: string, size: number, timeoutMs: number): Promise<void> {
  const check = await curlGet(url, timeoutMs);
  if (check.exitCode !== 0 || check.stdout.trim() !== `200 ${size}`) {
    throw new Error(`GET ${url} answered "${check.stdout.trim()}" ${check.stderr.trim()}`);
  }
}

/** What both serve benches start from: the java-db upstream's blob on docker-registry. */
export async function serveBenchSetup(ctx: BenchContext) {
  const up = await ctx.javaDbUpstream();
  const size = up.artifact.layer.size;
  const clients = ctx.options.clients;
  return {
    up,
    size,
    digest: up.artifact.layer.digest,
    clients,
    timeoutMs: Math.max(120_000, ((size * clients) / 20e6) * 1000),
    registryBlob: `${up.registry.url}/v2/${up.repository}/blobs/${up.artifact.layer.digest}`,
    registryPid: await findPidByCmdline(join(dirname(up.registry.storageDir), 'config.yml')),
  };
}

// serve: one ~1 GB blob downloaded by N concurrent curl clients from the daemon's embedded read-only
// registry (`trivy-mirror run`, store filled by one `sync`) vs Debian's docker-registry serving the
// same blob. Compares aggregate throughput; also reports the servers' peak RSS and CPU.
import { dirname, join } from 'node:path';
import { freePort, writeArtifactToLayout } from '@trivy-mirror/fixtures';
import { type Benchmark, type BenchContext, notMeasured, result } from '../lib/bench-context.js';
import {
  cliBuilt,
  type RunningDaemon,
  startDaemon,
  trivyMirror,
  waitUntilQuiet,
  writeDaemonConfig,
} from '../lib/daemon-cli.js';
import { formatBytes, formatMb, formatRate, formatRatio, median } from '../lib/format.js';
import { describeFailure } from '../lib/measure.js';
import { parallelGet } from '../lib/parallel-clients.js';
import { curlGet } from '../lib/registry-checks.js';
import { readMemory } from '../lib/proc-stats.js';
import { findPidByCmdline } from '../lib/system.js';
import { TreeSampler } from '../lib/tree-sampler.js';

const GOAL_RATIO = 0.9;

interface ServeRun {
  bytesPerSecond: number;
  serverRss: number;
  serverCpuMs: number;
}

async function measureServer(
  url: string,
  serverPid: number | undefined,
  clients: number,
  size: number,
  timeoutMs: number,
): Promise<ServeRun> {
  const sampler = serverPid ? new TreeSampler(serverPid).start() : undefined;
  await sampler?.poll();
  const cpuBefore = sampler?.snapshot().cpuMs ?? 0;
  const got = await parallelGet(url, clients, size, timeoutMs);
  const s = sampler ? await sampler.stop() : undefined;
  return {
    bytesPerSecond: got.bytesPerSecond,
    // Polled RSS during the downloads only: VmHWM would carry the start-up peak.
    serverRss: s?.peakTreeRss ?? 0,
    serverCpuMs: s ? s.cpuMs - cpuBefore : 0,
  };
}

export const serveBench: Benchmark = {
  name: 'serve',
  description: `one java-db blob to N concurrent clients: embedded /v2/ of trivy-mirror run vs docker-registry (goal ≥ ${GOAL_RATIO}x throughput)`,
  async run(ctx: BenchContext) {
    const up = await ctx.javaDbUpstream();
    const size = up.artifact.layer.size;
    const digest = up.artifact.layer.digest;
    const clients = ctx.options.clients;
    const timeoutMs = Math.max(120_000, ((size * clients) / 20e6) * 1000);
    const registryBlob = `${up.registry.url}/v2/${up.repository}/blobs/${digest}`;
    const registryPid = await findPidByCmdline(join(dirname(up.registry.storageDir), 'config.yml'));
    const notes: string[] = [];

    let daemon: RunningDaemon | undefined;
    let daemonBlob = '';
    let appError: string | undefined;
    if (cliBuilt()) {
      try {
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
        daemon = await startDaemon(config, adminPort, 120_000);
        ctx.onCleanup(() => daemon!.stop());
        const waited = await waitUntilQuiet(daemon, 60_000);
        ctx.log(`daemon ready and quiet after ${waited} ms more`);
        daemonBlob = `http://127.0.0.1:${servePort}/v2/trivy-java-db/blobs/${digest}`;
        const check = await curlGet(daemonBlob, timeoutMs);
        if (check.exitCode !== 0 || check.stdout.trim() !== `200 ${size}`) {
          throw new Error(`GET ${daemonBlob} answered "${check.stdout.trim()}" ${check.stderr.trim()}`);
        }
      } catch (err) {
        appError = (err as Error).message;
        ctx.log(`trivy-mirror serve set-up failed: ${appError}`);
      }
    }
    // Warm the page cache for the registry side too.
    const warm = await curlGet(registryBlob, timeoutMs);
    if (warm.exitCode !== 0) throw new Error(describeFailure(warm));

    const peer: ServeRun[] = [];
    const ours: ServeRun[] = [];
    for (let i = 0; i < ctx.options.repeat; i++) {
      const order = i % 2 === 0 ? ['registry', 'trivy-mirror'] : ['trivy-mirror', 'registry'];
      for (const who of order) {
        if (who === 'registry') {
          const r = await measureServer(registryBlob, registryPid, clients, size, timeoutMs);
          peer.push(r);
          ctx.log(`docker-registry: ${formatRate(r.bytesPerSecond)}, server RSS ${formatMb(r.serverRss)}`);
        } else if (daemon && !appError) {
          try {
            const r = await measureServer(daemonBlob, daemon.pid, clients, size, timeoutMs);
            ours.push(r);
            ctx.log(`trivy-mirror: ${formatRate(r.bytesPerSecond)}, server RSS ${formatMb(r.serverRss)}`);
          } catch (err) {
            appError = (err as Error).message;
          }
        }
      }
    }
    const daemonHwm = daemon ? ((await readMemory(daemon.pid))?.hwm ?? 0) : 0;
    await daemon?.stop();

    const peerRate = median(peer.map((r) => r.bytesPerSecond));
    const metrics: Record<string, number | string> = {
      layerBytes: size,
      clients,
      registryBytesPerSecond: peerRate,
      registryPeakRssBytes: Math.max(...peer.map((r) => r.serverRss)),
      registryCpuMs: median(peer.map((r) => r.serverCpuMs)),
      runs: ctx.options.repeat,
    };
    const head = `serve     ${formatBytes(size)} × ${clients}`;
    const unjudged = notMeasured(
      'serve',
      { built: cliBuilt(), error: appError, runs: ours.length },
      `${head}  registry ${formatRate(peerRate)}`,
      metrics,
    );
    if (unjudged) return unjudged;
    const rate = median(ours.map((r) => r.bytesPerSecond));
    const rss = Math.max(...ours.map((r) => r.serverRss));
    const ratio = rate / peerRate;
    Object.assign(metrics, {
      trivyMirrorBytesPerSecond: rate,
      trivyMirrorPeakRssBytes: rss,
      trivyMirrorCpuMs: median(ours.map((r) => r.serverCpuMs)),
      trivyMirrorLifetimePeakRssBytes: daemonHwm,
      ratio,
    });
    return result(
      'serve',
      `${head}  trivy-mirror ${formatRate(rate)} / registry ${formatRate(peerRate)} = ${formatRatio(ratio)} (goal ≥ ${GOAL_RATIO.toFixed(2)}x)  server RSS ${formatMb(rss)} (registry ${formatMb(metrics.registryPeakRssBytes as number)}; daemon lifetime peak ${formatMb(daemonHwm)})`,
      [{ goal: `throughput ratio ≥ ${GOAL_RATIO}x`, ok: ratio >= GOAL_RATIO }],
      metrics,
      notes,
    );
  },
};

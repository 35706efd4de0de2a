import { type Benchmark, type BenchContext, notMeasured, result } from '../lib/bench-context.js';
import { cliBuilt, type RunningDaemon } from '../lib/daemon-cli.js';
import { formatBytes, formatMb, formatRate, formatRatio, median } from '../lib/format.js';
import { describeFailure } from '../lib/measure.js';
import { parallelGet } from '../lib/parallel-clients.js';
import { curlGet } from '../lib/registry-checks.js';
import { readMemory } from '../lib/proc-stats.js';
import { serveBenchSetup, startServingDaemon } from '../lib/serving-daemon.js';
import { TreeSampler } from '../lib/tree-sampler.js';

const GOAL_RATIO = 0.9;

export interface ServeRun {
  bytesPerSecond: number;
  serverRss: number;
  serverCpuMs: number;
}

export async function measureServer(
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
    const { up, size, clients, timeoutMs, registryBlob, registryPid } = await serveBenchSetup(ctx);
    const notes: string[] = [];

    let daemon: RunningDaemon | undefined;
    let daemonBlob = '';
    let appError: string | undefined;
    if (cliBuilt()) {
      try {
        ({ daemon, blobUrl: daemonBlob } = await startServingDaemon(ctx, up, timeoutMs, notes));
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

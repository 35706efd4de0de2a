// serve-static: the same java-db blob to N concurrent curl clients from three servers in one run —
// Debian's nginx serving the tree `trivy-mirror publish` wrote (the shipped deploy/nginx conf,
// sendfile), the daemon's embedded /v2/, and docker-registry. Goal: the published tree ≥ 1.2x
// docker-registry (what scaling a bastion out with nginx or a CDN buys).
import { join } from 'node:path';
import { startRegistryTreeNginx } from '@trivy-mirror/fixtures';
import { type Benchmark, type BenchContext, notMeasured, result } from '../lib/bench-context.js';
import { cliBuilt, trivyMirror } from '../lib/daemon-cli.js';
import { formatBytes, formatRate, formatRatio, median } from '../lib/format.js';
import { describeFailure } from '../lib/measure.js';
import {
  expectBlob,
  type ServingDaemon,
  serveBenchSetup,
  startServingDaemon,
} from '../lib/serving-daemon.js';
import { findPidByCmdline } from '../lib/system.js';
import { measureServer, type ServeRun } from './serve-bench.js';

const GOAL_RATIO = 1.2;

type Contender = 'nginx' | 'embedded' | 'registry';

export const serveStaticBench: Benchmark = {
  name: 'serve-static',
  description: `one java-db blob to N clients: nginx from the published tree vs embedded /v2/ vs docker-registry (goal nginx ≥ ${GOAL_RATIO}x registry)`,
  async run(ctx: BenchContext) {
    const { up, size, digest, clients, timeoutMs, registryBlob, registryPid } = await serveBenchSetup(ctx);
    const urls: Partial<Record<Contender, string>> = { registry: registryBlob };
    const pids: Partial<Record<Contender, number>> = { registry: registryPid };
    const notes: string[] = [];
    let appError: string | undefined;
    let serving: ServingDaemon | undefined;
    if (cliBuilt()) {
      try {
        serving = await startServingDaemon(ctx, up, timeoutMs, notes);
        urls.embedded = serving.blobUrl;
        pids.embedded = serving.daemon.pid;
        const tree = join(await ctx.tempDir('tree'), 'registry');
        const published = await trivyMirror(
          ['publish', '--out', tree, '--config', serving.config],
          timeoutMs,
        );
        if (published.exitCode !== 0) throw new Error(`publish: ${describeFailure(published)}`);
        // one worker: the curl clients share the 2 CPUs, and so does the single-threaded daemon
        const nginx = await startRegistryTreeNginx(tree);
        ctx.onCleanup(() => nginx.stop());
        urls.nginx = `${nginx.treeUrl}/v2/trivy-java-db/blobs/${digest}`;
        pids.nginx = await findPidByCmdline(nginx.errorLog.replace(/error\.log$/, 'nginx.conf'));
        await expectBlob(urls.nginx, size, timeoutMs);
      } catch (err) {
        appError = (err as Error).message;
        ctx.log(`serve-static set-up failed: ${appError}`);
      }
    }
    await expectBlob(urls.registry as string, size, timeoutMs);

    const runs: Record<Contender, ServeRun[]> = { nginx: [], embedded: [], registry: [] };
    const order: Contender[] = ['registry', 'nginx', 'embedded'];
    for (let i = 0; i < ctx.options.repeat; i++) {
      // rotate who goes first, so page-cache and CPU-frequency drift spread over all three
      for (const who of [...order.slice(i % 3), ...order.slice(0, i % 3)]) {
        const url = urls[who];
        if (!url || (who !== 'registry' && appError)) continue;
        try {
          const r = await measureServer(url, pids[who], clients, size, timeoutMs);
          runs[who].push(r);
          ctx.log(`${who}: ${formatRate(r.bytesPerSecond)}`);
        } catch (err) {
          appError = `${who}: ${(err as Error).message}`;
        }
      }
    }
    await serving?.daemon.stop();

    const rate = (who: Contender) => median(runs[who].map((r) => r.bytesPerSecond));
    const metrics: Record<string, number | string> = {
      layerBytes: size,
      clients,
      runs: ctx.options.repeat,
      registryBytesPerSecond: rate('registry'),
    };
    const head = `serve-static ${formatBytes(size)} × ${clients}`;
    const unjudged = notMeasured(
      'serve-static',
      { built: cliBuilt(), error: appError, runs: Math.min(runs.nginx.length, runs.embedded.length) },
      `${head}  registry ${formatRate(rate('registry'))}`,
      metrics,
    );
    if (unjudged) return unjudged;
    const nginxRatio = rate('nginx') / rate('registry');
    const embeddedRatio = rate('embedded') / rate('registry');
    Object.assign(metrics, {
      nginxBytesPerSecond: rate('nginx'),
      embeddedBytesPerSecond: rate('embedded'),
      nginxRatio,
      embeddedRatio,
      nginxCpuMs: median(runs.nginx.map((r) => r.serverCpuMs)),
      embeddedCpuMs: median(runs.embedded.map((r) => r.serverCpuMs)),
      registryCpuMs: median(runs.registry.map((r) => r.serverCpuMs)),
    });
    return result(
      'serve-static',
      `${head}  nginx (published tree) ${formatRate(rate('nginx'))} = ${formatRatio(nginxRatio)} (goal ≥ ${GOAL_RATIO.toFixed(2)}x)  embedded /v2/ ${formatRate(rate('embedded'))} = ${formatRatio(embeddedRatio)}  of docker-registry ${formatRate(rate('registry'))}  server CPU ${metrics.nginxCpuMs} / ${metrics.embeddedCpuMs} / ${metrics.registryCpuMs} ms`,
      [
        {
          goal: `nginx from the published tree ≥ ${GOAL_RATIO}x docker-registry`,
          ok: nginxRatio >= GOAL_RATIO,
        },
      ],
      metrics,
      notes,
    );
  },
};

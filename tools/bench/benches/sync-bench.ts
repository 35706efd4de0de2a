// sync: the ~1 GB java-db artifact upstream → store → one destination by `trivy-mirror sync` (one pass,
// fresh state dir and destination each run) vs one `skopeo copy` upstream → destination.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '@trivy-mirror/fixtures';
import { type Benchmark, type BenchContext, notMeasured } from '../lib/bench-context.js';
import { cliBuilt, trivyMirror, writeDaemonConfig } from '../lib/daemon-cli.js';
import { formatBytes, formatMb, formatRatio, formatSeconds, median } from '../lib/format.js';
import { describeFailure } from '../lib/measure.js';
import { assertManifest, curlGet, measureCurlFloor } from '../lib/registry-checks.js';
import { skopeoCopy } from '../lib/skopeo.js';
import { flushDisks } from '../lib/system.js';
import { alternateRounds, versusSkopeo } from '../lib/versus-skopeo.js';

const GOAL_RATIO = 0.8;
const GOAL_RSS = 150e6;

export const syncBench: Benchmark = {
  name: 'sync',
  description: `trivy-mirror sync (upstream → store → destination) vs skopeo copy of the java-db artifact (goal ≤ ${GOAL_RATIO}x, RSS < ${GOAL_RSS / 1e6} MB)`,
  async run(ctx: BenchContext) {
    const up = await ctx.javaDbUpstream();
    const size = up.artifact.layer.size;
    const src = `${up.registry.host}/${up.repository}:${up.tag}`;
    const timeoutMs = Math.max(120_000, (size / 4e6) * 1000);
    const built = cliBuilt();
    const vexUrl = built ? await ctx.vexUrl() : '';
    const blobUrl = `${up.registry.url}/v2/${up.repository}/blobs/${up.artifact.layer.digest}`;
    const warm = await curlGet(blobUrl, timeoutMs);
    if (warm.exitCode !== 0) throw new Error(describeFailure(warm));

    const skopeo: { wallMs: number; rss: number; cpuMs: number }[] = [];
    let twoHopMs: number | undefined;
    let floorMs: number | undefined;
    const ours: { wallMs: number; rss: number; cpuMs: number }[] = [];
    let appError: string | undefined;
    await alternateRounds(ctx, {
      skipOurs: () => !built || appError !== undefined,
      run: async (who, dst) => {
        if (who === 'skopeo') {
          await flushDisks();
          const m = await skopeoCopy(src, `${dst.host}/mirror/trivy-java-db:1`, timeoutMs);
          if (m.exitCode !== 0) throw new Error(describeFailure(m));
          skopeo.push({ wallMs: m.wallMs, rss: m.peakRssBytes, cpuMs: m.cpuMs });
          ctx.log(
            `skopeo copy: ${formatSeconds(m.wallMs)}, peak RSS ${formatMb(m.peakRssBytes)}, cpu ${formatSeconds(m.cpuMs)}`,
          );
          return;
        }
        const dir = await ctx.tempDir('sync');
        const config = await writeDaemonConfig(join(dir, 'config.yaml'), {
          stateDir: join(dir, 'state'),
          adminPort: await freePort(),
          sources: [`${up.registry.host}/aquasec`],
          artifacts: [{ name: 'trivy-java-db', tags: ['1'] }],
          destinations: [`${dst.host}/mirror`],
          vexUrl,
        });
        await flushDisks();
        const m = await trivyMirror(['sync', '--config', config, '--only', 'oci-sync'], timeoutMs);
        if (m.exitCode !== 0) {
          appError = describeFailure(m);
          ctx.log(`trivy-mirror sync failed: ${appError}`);
        } else {
          await assertManifest(dst.url, 'mirror/trivy-java-db', '1', up.artifact.manifestDigest);
          ours.push({ wallMs: m.wallMs, rss: m.peakRssBytes, cpuMs: m.cpuMs });
          ctx.log(
            `trivy-mirror sync: ${formatSeconds(m.wallMs)}, peak RSS ${formatMb(m.peakRssBytes)}, cpu ${formatSeconds(m.cpuMs)}`,
          );
        }
      },
      afterRound: async (i) => {
        if (i !== 0) return;
        twoHopMs = await skopeoTwoHops(ctx, src, timeoutMs);
        floorMs = await measureCurlFloor(ctx, blobUrl, up.artifact.layer.digest, timeoutMs);
      },
    });

    const skopeoWall = median(skopeo.map((r) => r.wallMs));
    const metrics: Record<string, number | string> = {
      layerBytes: size,
      skopeoWallMs: skopeoWall,
      skopeoPeakRssBytes: Math.max(...skopeo.map((r) => r.rss)),
      runs: ctx.options.repeat,
    };
    if (twoHopMs !== undefined) metrics.skopeoTwoHopWallMs = twoHopMs;
    if (floorMs !== undefined) metrics.curlFloorWallMs = floorMs;
    // Context for the ratio: the destination registry's own ingest rate bounds every contender.
    const context = [
      floorMs !== undefined
        ? `curl floor ${formatSeconds(floorMs)} = ${formatRatio(floorMs / skopeoWall)} skopeo`
        : undefined,
      twoHopMs !== undefined ? `skopeo via an OCI layout ${formatSeconds(twoHopMs)}` : undefined,
    ].filter(Boolean);
    const twoHop = context.length ? `  (${context.join('; ')})` : '';
    const head = `sync      ${formatBytes(size)}`;
    const unjudged = notMeasured(
      'sync',
      { built, error: appError, runs: ours.length },
      `${head}  skopeo ${formatSeconds(skopeoWall)}`,
      metrics,
    );
    if (unjudged) return unjudged;
    return versusSkopeo({
      name: 'sync',
      head,
      ours,
      skopeoWallMs: skopeoWall,
      goals: { ratio: GOAL_RATIO, rssBytes: GOAL_RSS },
      metrics,
      extraMetrics: {
        trivyMirrorCpuMs: median(ours.map((r) => r.cpuMs)),
        skopeoCpuMs: median(skopeo.map((r) => r.cpuMs)),
      },
      tail: twoHop,
    });
  },
};

/**
 * Context, not a goal: the same two hops sync makes (upstream → OCI layout → destination) done by
 * two `skopeo copy` runs, summed. Undefined if skopeo cannot do it.
 */
async function skopeoTwoHops(ctx: BenchContext, src: string, timeoutMs: number): Promise<number | undefined> {
  const dir = await ctx.tempDir('skopeo-layout');
  const dst = await ctx.startRegistry();
  try {
    await flushDisks();
    const a = await skopeoCopy(src, `oci:${dir}/layout:1`, timeoutMs);
    if (a.exitCode !== 0) return undefined;
    await flushDisks();
    const b = await skopeoCopy(`oci:${dir}/layout:1`, `${dst.host}/mirror/trivy-java-db:1`, timeoutMs);
    if (b.exitCode !== 0) return undefined;
    ctx.log(`skopeo via OCI layout: ${formatSeconds(a.wallMs)} + ${formatSeconds(b.wallMs)}`);
    return a.wallMs + b.wallMs;
  } finally {
    await dst.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

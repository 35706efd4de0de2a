// copy: one ~1 GB single-layer artifact registry → registry, `trivy-mirror copy` vs `skopeo copy`
// (each into a fresh destination registry), plus the `curl GET | curl PUT` floor for context.
import { type Benchmark, type BenchContext, result, skipped } from '../lib/bench-context.js';
import { cliBuilt, trivyMirror } from '../lib/daemon-cli.js';
import { formatBytes, formatMb, formatRatio, formatSeconds, median } from '../lib/format.js';
import { describeFailure } from '../lib/measure.js';
import { assertManifest, curlGet, measureCurlFloor } from '../lib/registry-checks.js';
import { skopeoCopy } from '../lib/skopeo.js';
import { flushDisks } from '../lib/system.js';

const GOAL_RATIO = 0.8;
const GOAL_RSS = 150e6;

export const copyBench: Benchmark = {
  name: 'copy',
  description: `trivy-mirror copy vs skopeo copy of one java-db artifact, registry → registry (goal ≤ ${GOAL_RATIO}x, RSS < ${GOAL_RSS / 1e6} MB)`,
  async run(ctx: BenchContext) {
    const up = await ctx.javaDbUpstream();
    const size = up.artifact.layer.size;
    const src = `${up.registry.host}/${up.repository}:${up.tag}`;
    const blobUrl = `${up.registry.url}/v2/${up.repository}/blobs/${up.artifact.layer.digest}`;
    const timeoutMs = Math.max(120_000, (size / 5e6) * 1000);
    const built = cliBuilt();

    // Same warm page cache for everyone: read the upstream blob once.
    const warm = await curlGet(blobUrl, timeoutMs);
    if (warm.exitCode !== 0) throw new Error(describeFailure(warm));

    const skopeo: { wallMs: number; rss: number }[] = [];
    const ours: { wallMs: number; rss: number }[] = [];
    const floor: number[] = [];
    let appError: string | undefined;
    for (let i = 0; i < ctx.options.repeat; i++) {
      // Alternate the order so neither side always runs on a cooler machine.
      const order = i % 2 === 0 ? ['skopeo', 'trivy-mirror'] : ['trivy-mirror', 'skopeo'];
      for (const who of order) {
        if (who === 'trivy-mirror' && (!built || appError)) continue;
        const dst = await ctx.startRegistry();
        const dstRef = `${dst.host}/mirror/trivy-java-db:1`;
        await flushDisks();
        const m =
          who === 'skopeo'
            ? await skopeoCopy(src, dstRef, timeoutMs)
            : await trivyMirror(['copy', '--quiet', src, dstRef], timeoutMs);
        if (m.exitCode !== 0) {
          if (who === 'skopeo') throw new Error(describeFailure(m));
          appError = describeFailure(m);
          ctx.log(`trivy-mirror copy failed: ${appError}`);
        } else {
          await assertManifest(dst.url, 'mirror/trivy-java-db', '1', up.artifact.manifestDigest);
          (who === 'skopeo' ? skopeo : ours).push({ wallMs: m.wallMs, rss: m.peakRssBytes });
          ctx.log(
            `${who} copy: ${formatSeconds(m.wallMs)}, peak RSS ${formatMb(m.peakRssBytes)}, cpu ${formatSeconds(m.cpuMs)}`,
          );
        }
        await dst.stop();
      }
      if (i === 0) {
        const wall = await measureCurlFloor(ctx, blobUrl, up.artifact.layer.digest, timeoutMs);
        if (wall !== undefined) floor.push(wall);
      }
    }

    const skopeoWall = median(skopeo.map((r) => r.wallMs));
    const skopeoRss = Math.max(...skopeo.map((r) => r.rss));
    const floorWall = floor.length ? floor[0] : undefined;
    const metrics: Record<string, number | string> = {
      layerBytes: size,
      skopeoWallMs: skopeoWall,
      skopeoPeakRssBytes: skopeoRss,
      runs: ctx.options.repeat,
    };
    if (floorWall !== undefined) metrics.curlFloorWallMs = floorWall;
    const floorText = floorWall !== undefined ? `  (curl floor ${formatSeconds(floorWall)})` : '';
    const head = `copy      ${formatBytes(size)}`;
    if (!built) {
      return skipped(
        'copy',
        `${head}  skopeo ${formatSeconds(skopeoWall)}, RSS ${formatMb(skopeoRss)}${floorText}`,
        'daemon not built',
        metrics,
      );
    }
    if (appError || ours.length === 0) {
      return {
        ...skipped(
          'copy',
          `${head}  skopeo ${formatSeconds(skopeoWall)}${floorText}`,
          'trivy-mirror copy failed',
          metrics,
        ),
        status: 'ERROR',
        error: appError,
      };
    }
    const wall = median(ours.map((r) => r.wallMs));
    const rss = Math.max(...ours.map((r) => r.rss));
    const ratio = wall / skopeoWall;
    Object.assign(metrics, { trivyMirrorWallMs: wall, trivyMirrorPeakRssBytes: rss, ratio });
    return result(
      'copy',
      `${head}  trivy-mirror ${formatSeconds(wall)} / skopeo ${formatSeconds(skopeoWall)} = ${formatRatio(ratio)} (goal ≤ ${GOAL_RATIO.toFixed(2)}x)  peak RSS ${formatMb(rss)} (goal < ${formatMb(GOAL_RSS)})${floorText}`,
      [
        { goal: `ratio ≤ ${GOAL_RATIO}x`, ok: ratio <= GOAL_RATIO },
        { goal: `peak RSS < ${formatMb(GOAL_RSS)}`, ok: rss < GOAL_RSS },
      ],
      metrics,
    );
  },
};

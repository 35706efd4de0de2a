// copy: one ~1 GB single-layer artifact registry → registry, `trivy-mirror copy` vs `skopeo copy`
// (each into a fresh destination registry), plus the `curl GET | curl PUT` floor for context.
import { type Benchmark, type BenchContext, notMeasured } from '../lib/bench-context.js';
import { cliBuilt, trivyMirror } from '../lib/daemon-cli.js';
import { formatBytes, formatMb, formatSeconds, median } from '../lib/format.js';
import { describeFailure } from '../lib/measure.js';
import { assertManifest, curlGet, measureCurlFloor } from '../lib/registry-checks.js';
import { skopeoCopy } from '../lib/skopeo.js';
import { flushDisks } from '../lib/system.js';
import { alternateRounds, versusSkopeo } from '../lib/versus-skopeo.js';

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
    await alternateRounds(ctx, {
      skipOurs: () => !built || appError !== undefined,
      run: async (who, dst) => {
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
      },
      afterRound: async (i) => {
        if (i !== 0) return;
        const wall = await measureCurlFloor(ctx, blobUrl, up.artifact.layer.digest, timeoutMs);
        if (wall !== undefined) floor.push(wall);
      },
    });

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
    const unjudged = notMeasured(
      'copy',
      { built, error: appError, runs: ours.length },
      {
        notBuilt: `${head}  skopeo ${formatSeconds(skopeoWall)}, RSS ${formatMb(skopeoRss)}${floorText}`,
        failed: `${head}  skopeo ${formatSeconds(skopeoWall)}${floorText}`,
      },
      metrics,
    );
    if (unjudged) return unjudged;
    return versusSkopeo({
      name: 'copy',
      head,
      ours,
      skopeoWallMs: skopeoWall,
      goals: { ratio: GOAL_RATIO, rssBytes: GOAL_RSS },
      metrics,
      tail: floorText,
    });
  },
};

// sync: the ~1 GB java-db artifact upstream → store → one destination by `trivy-mirror sync` (one pass,
// fresh state dir and destination each run) vs skopeo doing the same two hops (upstream → oci: layout →
// destination, summed), with the `curl GET | curl PUT` floor of the same blob as a second yardstick.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, type RunningRegistry } from '@trivy-mirror/fixtures';
import { type Benchmark, type BenchContext, notMeasured, result } from '../lib/bench-context.js';
import { cliBuilt, trivyMirror, writeDaemonConfig } from '../lib/daemon-cli.js';
import { formatBytes, formatMb, formatRatio, formatSeconds, median } from '../lib/format.js';
import { describeFailure } from '../lib/measure.js';
import { assertManifest, curlGet, measureCurlFloor } from '../lib/registry-checks.js';
import { skopeoCopy } from '../lib/skopeo.js';
import { flushDisks } from '../lib/system.js';
import { alternateRounds } from '../lib/versus-skopeo.js';

const GOAL_TWO_HOPS = 0.6;
const GOAL_FLOOR = 1.25;
const GOAL_RSS = 150e6;

export const syncBench: Benchmark = {
  name: 'sync',
  description: `trivy-mirror sync (upstream → store → destination) vs skopeo doing the same two hops (goal ≤ ${GOAL_TWO_HOPS}x) and the curl GET | PUT floor (goal ≤ ${GOAL_FLOOR}x), RSS < ${GOAL_RSS / 1e6} MB`,
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

    // The fair peer does the same work: upstream → OCI layout (the store) → destination, two skopeo runs.
    const twoHops: number[] = [];
    const floors: number[] = [];
    const ours: { wallMs: number; rss: number; cpuMs: number }[] = [];
    let appError: string | undefined;
    await alternateRounds(ctx, {
      skipOurs: () => !built || appError !== undefined,
      run: async (who, dst) => {
        if (who === 'skopeo') {
          const ms = await skopeoTwoHops(ctx, src, dst, timeoutMs);
          if (ms === undefined) throw new Error('skopeo could not copy through an OCI layout');
          twoHops.push(ms);
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
      afterRound: async () => {
        const floor = await measureCurlFloor(ctx, blobUrl, up.artifact.layer.digest, timeoutMs);
        if (floor !== undefined) floors.push(floor);
      },
    });

    const twoHopMs = median(twoHops);
    const metrics: Record<string, number | string> = {
      layerBytes: size,
      skopeoTwoHopWallMs: twoHopMs,
      runs: ctx.options.repeat,
    };
    const floorMs = floors.length ? median(floors) : undefined;
    if (floorMs !== undefined) metrics.curlFloorWallMs = floorMs;
    const head = `sync      ${formatBytes(size)}`;
    const unjudged = notMeasured(
      'sync',
      { built, error: appError, runs: ours.length },
      `${head}  skopeo two hops ${formatSeconds(twoHopMs)}`,
      metrics,
    );
    if (unjudged) return unjudged;
    const wall = median(ours.map((r) => r.wallMs));
    const rss = Math.max(...ours.map((r) => r.rss));
    const vsSkopeo = wall / twoHopMs;
    const vsFloor = floorMs !== undefined ? wall / floorMs : undefined;
    Object.assign(metrics, {
      trivyMirrorWallMs: wall,
      trivyMirrorPeakRssBytes: rss,
      trivyMirrorCpuMs: median(ours.map((r) => r.cpuMs)),
      ratio: vsSkopeo,
      ...(vsFloor !== undefined ? { ratioToCurlFloor: vsFloor } : {}),
    });
    const floorText =
      vsFloor !== undefined && floorMs !== undefined
        ? `  curl floor ${formatSeconds(floorMs)}: ${formatRatio(vsFloor)} (goal ≤ ${GOAL_FLOOR.toFixed(2)}x)`
        : '  curl floor not measured';
    return result(
      'sync',
      `${head}  trivy-mirror ${formatSeconds(wall)} / skopeo two hops ${formatSeconds(twoHopMs)} = ${formatRatio(vsSkopeo)} (goal ≤ ${GOAL_TWO_HOPS.toFixed(2)}x)${floorText}  peak RSS ${formatMb(rss)} (goal < ${formatMb(GOAL_RSS)})`,
      [
        { goal: `ratio to skopeo's two hops ≤ ${GOAL_TWO_HOPS}x`, ok: vsSkopeo <= GOAL_TWO_HOPS },
        {
          goal: `ratio to the curl floor ≤ ${GOAL_FLOOR}x`,
          ok: vsFloor !== undefined && vsFloor <= GOAL_FLOOR,
        },
        { goal: `peak RSS < ${formatMb(GOAL_RSS)}`, ok: rss < GOAL_RSS },
      ],
      metrics,
    );
  },
};

/**
 * The same two hops sync makes (upstream → OCI layout → destination) done by two `skopeo copy` runs,
 * summed. Undefined if skopeo cannot do it.
 */
async function skopeoTwoHops(
  ctx: BenchContext,
  src: string,
  dst: RunningRegistry,
  timeoutMs: number,
): Promise<number | undefined> {
  const dir = await ctx.tempDir('skopeo-layout');
  try {
    await flushDisks();
    const a = await skopeoCopy(src, `oci:${dir}/layout:1`, timeoutMs);
    if (a.exitCode !== 0) return undefined;
    await flushDisks();
    const b = await skopeoCopy(`oci:${dir}/layout:1`, `${dst.host}/mirror/trivy-java-db:1`, timeoutMs);
    if (b.exitCode !== 0) return undefined;
    ctx.log(
      `skopeo two hops: ${formatSeconds(a.wallMs)} + ${formatSeconds(b.wallMs)}, peak RSS ${formatMb(Math.max(a.peakRssBytes, b.peakRssBytes))}`,
    );
    return a.wallMs + b.wallMs;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

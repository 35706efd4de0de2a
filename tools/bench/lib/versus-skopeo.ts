// copy and sync are measured and judged the same way: rounds of skopeo and trivy-mirror in alternating
// order, each into a fresh destination registry; then trivy-mirror's median wall time against skopeo's
// (a ratio goal) and its largest peak RSS (an absolute goal), on one result line.
import type { RunningRegistry } from '@trivy-mirror/fixtures';
import { type BenchContext, type BenchResult, result } from './bench-context.js';
import { formatMb, formatRatio, formatSeconds, median } from './format.js';

export type Contender = 'skopeo' | 'trivy-mirror';

/**
 * `ctx.options.repeat` rounds of both contenders, the order alternating so neither side always runs on
 * a cooler machine; each run gets a fresh destination registry, stopped afterwards. trivy-mirror's runs
 * are left out while `skipOurs()` is true (daemon not built, or it failed once). `afterRound(i)` runs
 * after each round (context measurements after the first).
 */
export async function alternateRounds(
  ctx: BenchContext,
  options: {
    skipOurs: () => boolean;
    run: (who: Contender, dst: RunningRegistry) => Promise<void>;
    afterRound?: (i: number) => Promise<void>;
  },
): Promise<void> {
  for (let i = 0; i < ctx.options.repeat; i++) {
    const order: Contender[] = i % 2 === 0 ? ['skopeo', 'trivy-mirror'] : ['trivy-mirror', 'skopeo'];
    for (const who of order) {
      if (who === 'trivy-mirror' && options.skipOurs()) continue;
      const dst = await ctx.startRegistry();
      await options.run(who, dst);
      await dst.stop();
    }
    await options.afterRound?.(i);
  }
}

/** One measured trivy-mirror run. */
export interface MeasuredRun {
  wallMs: number;
  rss: number;
}

export interface VersusSkopeo {
  /** The benchmark's name. */
  name: string;
  /** The start of the result line (name and size). */
  head: string;
  ours: MeasuredRun[];
  skopeoWallMs: number;
  goals: { ratio: number; rssBytes: number };
  /** Filled with trivyMirrorWallMs, trivyMirrorPeakRssBytes, `extraMetrics` and ratio. */
  metrics: BenchResult['metrics'];
  extraMetrics?: BenchResult['metrics'];
  /** Context appended to the line (e.g. the curl floor). */
  tail?: string;
}

export function versusSkopeo(v: VersusSkopeo): BenchResult {
  const wall = median(v.ours.map((r) => r.wallMs));
  const rss = Math.max(...v.ours.map((r) => r.rss));
  const ratio = wall / v.skopeoWallMs;
  const { ratio: goalRatio, rssBytes: goalRss } = v.goals;
  Object.assign(v.metrics, {
    trivyMirrorWallMs: wall,
    trivyMirrorPeakRssBytes: rss,
    ...v.extraMetrics,
    ratio,
  });
  return result(
    v.name,
    `${v.head}  trivy-mirror ${formatSeconds(wall)} / skopeo ${formatSeconds(v.skopeoWallMs)} = ${formatRatio(ratio)} (goal ≤ ${goalRatio.toFixed(2)}x)  peak RSS ${formatMb(rss)} (goal < ${formatMb(goalRss)})${v.tail ?? ''}`,
    [
      { goal: `ratio ≤ ${goalRatio}x`, ok: ratio <= goalRatio },
      { goal: `peak RSS < ${formatMb(goalRss)}`, ok: rss < goalRss },
    ],
    v.metrics,
  );
}

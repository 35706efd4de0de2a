// startup: how soon trivy-mirror answers. `--help` and `status` (no daemon) wall time, and exec to the
// first 200 of /healthz of `run`, each as a ratio of its goal; skopeo's `--help` (a static Go binary,
// the kind of tool a bastion otherwise runs) is measured in the same run for scale.
import { type Benchmark, type BenchContext, result, skipped } from '../lib/bench-context.js';
import { cliForm } from '../lib/cli-form.js';
import { cliBuilt } from '../lib/daemon-cli.js';
import { formatRatio, median } from '../lib/format.js';
import { measureStartup, wallMs } from '../lib/startup.js';

const GOAL_HELP_MS = 120;
const GOAL_STATUS_MS = 120;
const GOAL_HEALTHZ_MS = 150;

const ms = (n: number) => `${Math.round(n)} ms`;

export const startupBench: Benchmark = {
  name: 'startup',
  description: `--help and status ≤ ${GOAL_HELP_MS} ms, run's /healthz ≤ ${GOAL_HEALTHZ_MS} ms from exec (medians; skopeo --help for scale)`,
  async run(ctx: BenchContext) {
    const runs = ctx.options.quick ? 5 : 15;
    const head = `startup   ${runs} runs`;
    if (!cliBuilt()) return skipped('startup', head, 'daemon not built', {});
    const skopeo: number[] = [];
    for (let i = 0; i < runs; i++) skopeo.push(await wallMs('skopeo', ['--help'], process.env));
    const f = await measureStartup(cliForm(), await ctx.tempDir('startup'), runs);
    const skopeoMs = median(skopeo);
    ctx.log(`skopeo --help ${ms(skopeoMs)}; trivy-mirror --help ${formatRatio(f.helpMs / skopeoMs)} of it`);
    return result(
      'startup',
      `${head}  --help ${ms(f.helpMs)} (${formatRatio(f.helpMs / GOAL_HELP_MS)} of goal ${GOAL_HELP_MS} ms)  status ${ms(f.statusMs)} (${formatRatio(f.statusMs / GOAL_STATUS_MS)})  /healthz ${ms(f.healthzMs)} after exec (${formatRatio(f.healthzMs / GOAL_HEALTHZ_MS)} of goal ${GOAL_HEALTHZ_MS} ms)  skopeo --help ${ms(skopeoMs)}`,
      [
        { goal: `--help ≤ ${GOAL_HELP_MS} ms`, ok: f.helpMs <= GOAL_HELP_MS },
        { goal: `status ≤ ${GOAL_STATUS_MS} ms`, ok: f.statusMs <= GOAL_STATUS_MS },
        { goal: `/healthz ≤ ${GOAL_HEALTHZ_MS} ms`, ok: f.healthzMs <= GOAL_HEALTHZ_MS },
      ],
      { runs, helpMs: f.helpMs, statusMs: f.statusMs, healthzMs: f.healthzMs, skopeoHelpMs: skopeoMs },
    );
  },
};

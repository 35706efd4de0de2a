// startup: how soon trivy-mirror answers. `--help` and `status` (no daemon) wall time, and exec to the
// first 200 of /healthz of `run`, each as a ratio of its goal; beside them, in the same rounds, the
// `--help` of every peer (static Go binaries, the kind of tool a bastion otherwise runs) and bare
// `node -e ''`, the floor any Node CLI pays. No goal against the peers: they are printed for scale.
import { goPeerBinary } from '@trivy-mirror/fixtures';
import { type Benchmark, type BenchContext, result, skipped } from '../lib/bench-context.js';
import { cliForm } from '../lib/cli-form.js';
import { cliBuilt } from '../lib/daemon-cli.js';
import { formatRatio } from '../lib/format.js';
import { GO_PEERS_WITH_HELP } from '../lib/go-peers.js';
import { measureStartup, type OtherCommand } from '../lib/startup.js';

const GOAL_HELP_MS = 120;
const GOAL_STATUS_MS = 120;
const GOAL_HEALTHZ_MS = 150;
const NODE_FLOOR = "node -e ''";

const ms = (n: number) => `${Math.round(n)} ms`;

export const startupBench: Benchmark = {
  name: 'startup',
  description: `--help and status ≤ ${GOAL_HELP_MS} ms, run's /healthz ≤ ${GOAL_HEALTHZ_MS} ms from exec (medians; every peer's --help and bare node beside them)`,
  async run(ctx: BenchContext) {
    const runs = ctx.options.quick ? 5 : 15;
    const head = `startup   ${runs} runs`;
    if (!cliBuilt()) return skipped('startup', head, 'daemon not built', {});
    const peers: OtherCommand[] = [
      ...GO_PEERS_WITH_HELP.filter((p) => ctx.wantsPeer(p)).map((p) => ({
        name: p,
        file: goPeerBinary(p),
        args: ['--help'],
      })),
      ...(ctx.wantsPeer('skopeo') ? [{ name: 'skopeo', file: 'skopeo', args: ['--help'] }] : []),
    ];
    const floor: OtherCommand = { name: NODE_FLOOR, file: process.execPath, args: ['-e', ''] };
    const f = await measureStartup(cliForm(), await ctx.tempDir('startup'), runs, [...peers, floor]);
    const peerMs = peers.map((p) => ({ name: p.name, ms: f.othersMs.get(p.name) ?? Number.NaN }));
    const fastest = peerMs.reduce<(typeof peerMs)[number] | undefined>(
      (a, b) => (a && a.ms <= b.ms ? a : b),
      undefined,
    );
    const floorMs = f.othersMs.get(NODE_FLOOR) ?? Number.NaN;
    const peersText = peerMs.map((p) => `${p.name} ${ms(p.ms)}`).join(', ');
    const ratios = [
      ...(fastest ? [`${formatRatio(f.helpMs / fastest.ms)} fastest peer ${fastest.name}`] : []),
      `${formatRatio(f.helpMs / floorMs)} floor (${NODE_FLOOR} ${ms(floorMs)})`,
    ].join(', ');
    const metrics: Record<string, number | string> = {
      runs,
      helpMs: f.helpMs,
      statusMs: f.statusMs,
      healthzMs: f.healthzMs,
      nodeFloorMs: floorMs,
    };
    for (const p of peerMs) metrics[`${p.name}.helpMs`] = p.ms;
    return result(
      'startup',
      `${head}  --help ${ms(f.helpMs)} (${formatRatio(f.helpMs / GOAL_HELP_MS)} of goal ${GOAL_HELP_MS} ms)  status ${ms(f.statusMs)} (${formatRatio(f.statusMs / GOAL_STATUS_MS)})  /healthz ${ms(f.healthzMs)} after exec (${formatRatio(f.healthzMs / GOAL_HEALTHZ_MS)} of goal ${GOAL_HEALTHZ_MS} ms)  |  peers' --help: ${peersText || 'none'}  |  our --help ${ratios}`,
      [
        { goal: `--help ≤ ${GOAL_HELP_MS} ms`, ok: f.helpMs <= GOAL_HELP_MS },
        { goal: `status ≤ ${GOAL_STATUS_MS} ms`, ok: f.statusMs <= GOAL_STATUS_MS },
        { goal: `/healthz ≤ ${GOAL_HEALTHZ_MS} ms`, ok: f.healthzMs <= GOAL_HEALTHZ_MS },
      ],
      metrics,
    );
  },
};

// The result line of copy and sync: trivy-mirror's median time, every peer's and the floor's, then
// trivy-mirror's ratio to the fastest peer and to the floor, judged against the goals (ahead of the
// fastest judged peer, within a factor of the floor, peak RSS under a bound).
import { type BenchResult, type GoalCheck, result, skipped } from './bench-context.js';
import { formatMb, formatRatio, formatSeconds, median } from './format.js';
import type { RoundsOutcome, RunFigures } from './rounds.js';

export const OURS = 'trivy-mirror';
export const FLOOR = 'floor';

export interface VersusPeers {
  name: string;
  /** The start of the line (name and size). */
  head: string;
  outcome: RoundsOutcome;
  /** False when the daemon is not built: the peers' figures only, SKIP. */
  built: boolean;
  goals: {
    /** trivy-mirror ≤ this × the floor */
    floorRatio: number;
    rssBytes: number;
    /** Peers trivy-mirror must be ahead of (the fastest of them); every peer when absent. */
    aheadOf?: string[];
  };
  /** Filled with every contender's figures and the ratios. */
  metrics: BenchResult['metrics'];
  /** Context appended to the judged part (e.g. what a part of our work costs alone). */
  note?: string;
}

interface Summary {
  name: string;
  wallMs: number;
  rssBytes: number;
  cpuMs: number;
  storeFsyncMs: number;
}

function summarize(name: string, runs: RunFigures[]): Summary {
  return {
    name,
    wallMs: median(runs.map((r) => r.wallMs)),
    rssBytes: Math.max(...runs.map((r) => r.rssBytes)),
    cpuMs: median(runs.map((r) => r.cpuMs)),
    storeFsyncMs: median(runs.flatMap((r) => r.storeFsyncMs ?? [])),
  };
}

const fastest = (list: Summary[]) =>
  list.reduce<Summary | undefined>((a, b) => (a && a.wallMs <= b.wallMs ? a : b), undefined);

export function versusPeers(v: VersusPeers): BenchResult {
  const { runs, errors } = v.outcome;
  const summaries = new Map<string, Summary>();
  for (const [name, list] of runs) {
    if (list.length === 0) continue;
    const s = summarize(name, list);
    summaries.set(name, s);
    Object.assign(v.metrics, {
      [`${name}.wallMs`]: s.wallMs,
      [`${name}.peakRssBytes`]: s.rssBytes,
      [`${name}.cpuMs`]: s.cpuMs,
      ...(Number.isNaN(s.storeFsyncMs) ? {} : { [`${name}.storeFsyncMs`]: s.storeFsyncMs }),
      [`${name}.runs`]: list.length,
    });
  }
  const figure = (name: string) => {
    const s = summaries.get(name);
    if (errors.has(name)) return `${name} failed`;
    return s ? `${name} ${formatSeconds(s.wallMs)} ${formatMb(s.rssBytes)}` : `${name} –`;
  };
  const peerNames = [...runs.keys()].filter((n) => n !== OURS && n !== FLOOR);
  const peersText = `${peerNames.map(figure).join(', ')}  |  ${figure(FLOOR)}`;
  const errorText = [...errors].map(([name, message]) => `${name}: ${message}`).join('\n');
  const withErrors = (r: BenchResult): BenchResult =>
    errors.size > 0
      ? { ...r, status: 'ERROR', line: r.line.replace(/ (PASS|FAIL)$/, ' ERROR'), error: errorText }
      : r;

  const ours = summaries.get(OURS);
  if (!v.built) return withErrors(skipped(v.name, `${v.head}  ${peersText}`, 'daemon not built', v.metrics));
  if (!ours) {
    return {
      ...skipped(v.name, `${v.head}  ${peersText}`, `trivy-mirror ${v.name} failed`, v.metrics),
      status: 'ERROR',
      error: errorText || `trivy-mirror ${v.name} completed no run`,
    };
  }

  const peers = peerNames.flatMap((n) => summaries.get(n) ?? []);
  const best = fastest(peers);
  const judged = fastest(peers.filter((p) => !v.goals.aheadOf || v.goals.aheadOf.includes(p.name)));
  const floor = summaries.get(FLOOR);
  const parts: string[] = [];
  const checks: GoalCheck[] = [];
  if (best) {
    const r = ours.wallMs / best.wallMs;
    v.metrics.fastestPeer = best.name;
    v.metrics.ratioToFastestPeer = r;
    parts.push(`${formatRatio(r)} fastest peer ${best.name}${judged === best ? ' (goal < 1x)' : ''}`);
  }
  if (judged) {
    const r = ours.wallMs / judged.wallMs;
    v.metrics.ratioToJudgedPeer = r;
    if (judged !== best) parts.push(`${formatRatio(r)} ${judged.name} (goal < 1x)`);
    checks.push({ goal: `ahead of ${judged.name}`, ok: r < 1 });
  } else {
    checks.push({ goal: `ahead of ${v.goals.aheadOf?.join(' or ') ?? 'every peer'}`, ok: false });
  }
  if (floor) {
    const r = ours.wallMs / floor.wallMs;
    v.metrics.ratioToFloor = r;
    parts.push(`${formatRatio(r)} floor (goal ≤ ${v.goals.floorRatio.toFixed(2)}x)`);
    checks.push({ goal: `≤ ${v.goals.floorRatio}x the floor`, ok: r <= v.goals.floorRatio });
  } else {
    checks.push({ goal: `≤ ${v.goals.floorRatio}x the floor`, ok: false });
  }
  parts.push(`peak RSS ${formatMb(ours.rssBytes)} (goal < ${formatMb(v.goals.rssBytes)})`);
  if (v.note) parts.push(v.note);
  checks.push({ goal: `peak RSS < ${formatMb(v.goals.rssBytes)}`, ok: ours.rssBytes < v.goals.rssBytes });
  return withErrors(
    result(v.name, `${v.head}  ${figure(OURS)}  |  ${peersText}  |  ${parts.join(', ')}`, checks, v.metrics),
  );
}

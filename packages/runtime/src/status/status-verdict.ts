// The one verdict on the mirror: READY, SYNCING, STALE or FAILING, and why, computed from the /status
// document. /status carries it (`verdict`), the status page heads with it and `trivy-mirror status`
// prints it and exits with its code, so the three never disagree. Pure, and light enough for the CLI
// to load on its own (`@trivy-mirror/runtime/status-verdict`).
import { formatTime, relative, scrub } from './status-format.js';
import type { StatusReport, StatusVerdict, VerdictState } from './status-document.js';
import { buildView, worst } from './status-view.js';

export type { StatusVerdict, VerdictState } from './status-document.js';

/** Each state's word, what it means and the exit code of `trivy-mirror status`, best first. */
export const VERDICTS: Record<VerdictState, { word: string; meaning: string; exitCode: number }> = {
  ready: {
    word: 'READY',
    meaning:
      'serving a complete version of everything configured, none past its NextUpdate, every last attempt succeeded (a scheduled run may be in progress)',
    exitCode: 0,
  },
  syncing: {
    word: 'SYNCING',
    meaning:
      'work in progress: not ready yet, or something configured is not held yet (first sync, population)',
    exitCode: 3,
  },
  stale: {
    word: 'STALE',
    meaning: 'something served is past its NextUpdate or VEX update interval, or a cache part is stale',
    exitCode: 4,
  },
  failing: {
    word: 'FAILING',
    meaning: 'the last run of a job, or a sync, push, population or VEX fetch, failed',
    exitCode: 5,
  },
};

const MAX_MESSAGE = 240;
/** C0, DEL and C1 (an upstream's error body may carry them) as \u00XX: the CLI prints reasons raw. */
const visible = (s: string) =>
  [...s]
    .map((c) => {
      const n = c.charCodeAt(0);
      return n < 0x20 || (n >= 0x7f && n <= 0x9f) ? `\\u${n.toString(16).padStart(4, '0')}` : c;
    })
    .join('');
const text = (s: string) => {
  const t = scrub(s.replace(/\s+/g, ' ').trim());
  return t.length > MAX_MESSAGE ? `${t.slice(0, MAX_MESSAGE - 1)}…` : t;
};
const errorText = (e: { code?: string; message: string }) =>
  text(e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message);

/** The verdict of a /status document at `now`: the worst state of any row, job or readiness. */
export function statusVerdict(report: Omit<StatusReport, 'verdict'>, now: Date): StatusVerdict {
  const found: Record<VerdictState, string[]> = { failing: [], stale: [], syncing: [], ready: [] };
  const add = (state: VerdictState, why: string) => {
    const reason = visible(why);
    if (!found[state].includes(reason)) found[state].push(reason);
  };
  for (const j of report.jobs) {
    const r = j.lastRun;
    if (r?.status !== 'failure') continue;
    const why = r.error ? errorText(r.error) : text(r.summary ?? 'failed');
    add('failing', `${j.id}: last run failed ${relative(r.endedAt ?? r.startedAt, now)}: ${why}`);
  }
  // Running jobs are left out: a sync in progress over a complete store is no reason to alert.
  const view = buildView(report, now, { running: false });
  for (const a of view.artifacts) {
    if (a.error) add('failing', `${a.key}: sync failed: ${errorText(a.error)}`);
    for (const d of a.destinations)
      if (d.error) add('failing', `${a.key} → ${d.reference}: push failed: ${text(d.error)}`);
    if (a.state === 'stale')
      add(
        'stale',
        `${a.key}: past its NextUpdate ${formatTime(a.nextUpdate)} UTC (${relative(a.nextUpdate, now)})`,
      );
    if (a.state === 'syncing') add('syncing', `${a.key}: not stored yet`);
  }
  for (const c of view.cache) {
    const what = `cache ${c.dir} ${c.part}`;
    if (c.state === 'failing' && c.error) add('failing', `${what}: ${errorText(c.error)}`);
    if (c.state === 'stale') add('stale', `${what}: stale`);
    if (c.state === 'syncing') add('syncing', `${what}: not populated yet`);
  }
  for (const v of view.vex) {
    if (v.state === 'failing' && v.error) add('failing', `VEX ${v.name}: ${errorText(v.error)}`);
    if (v.state === 'stale')
      add(
        'stale',
        `VEX ${v.name}: updated ${relative(v.updatedAt, now)}, more than twice its update interval`,
      );
    if (v.state === 'syncing') add('syncing', `VEX ${v.name}: no version yet`);
  }
  if (!report.ready) {
    if (report.reasons.length === 0) add('syncing', `not ready (${report.phase})`);
    for (const r of report.reasons) add('syncing', `not ready: ${text(r)}`);
  }
  const rowStates = [...view.artifacts, ...view.cache, ...view.vex].map((r) => r.state);
  const state = worst([
    ...rowStates,
    ...(found.failing.length ? ['failing' as const] : []),
    ...(found.syncing.length ? ['syncing' as const] : []),
  ]);
  const { word, meaning } = VERDICTS[state];
  return { state, word, meaning, reasons: [...found.failing, ...found.stale, ...found.syncing] };
}

/** `trivy-mirror status`'s exit code for a verdict state (an unknown one counts as FAILING). */
export function verdictExitCode(state: unknown): number {
  return (VERDICTS[state as VerdictState] ?? VERDICTS.failing).exitCode;
}

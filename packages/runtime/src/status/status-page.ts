// The status page (GET / on the admin listener): one self-contained, server-rendered HTML document
// for the people on call, headed by the verdict of /status (status-verdict.ts), then artifacts, jobs,
// cache dirs, VEX, the network (routes and self-check), clients, 14-day charts. No scripts, no
// external resources; it reloads itself every 30 s.
import { ageChart, bytesChart } from './status-chart.js';
import {
  esc,
  formatBytes,
  formatSeconds,
  formatTime,
  plainCause,
  relative,
  shortDigest,
} from './status-format.js';
import type { ArtifactUseStatus } from '../clients/clients-seen.js';
import type { HistoryEntry } from './status-history.js';
import type { JobStatus, StatusReport } from './status-report.js';
import { STATE_CSS } from './status-page-css.js';
import { networkSection } from './status-page-network.js';
import { VERDICTS } from './status-verdict.js';
import { type PageState, STATES } from './status-document.js';
import { buildView, type CacheRow } from './status-view.js';

export const REFRESH_SECONDS = 30;

const badge = (s: PageState) => `<span class="st st-${s}">${VERDICTS[s].word}</span>`;
const when = (iso: string | undefined, now: Date) =>
  iso
    ? `<span class="t" title="${esc(iso)}">${esc(formatTime(iso))}</span> <span class="dim nw">${esc(relative(iso, now))}</span>`
    : '—';

function errorCell(error: { code?: string; message: string; at?: string } | undefined, now: Date): string {
  if (!error) return '';
  const cause = plainCause(error);
  return `<div class="err">${error.code ? `<code>${esc(error.code)}</code> ` : ''}${esc(error.message)}${
    cause ? `<div class="cause">Likely cause: ${esc(cause)}</div>` : ''
  }${error.at ? `<div class="dim">since ${when(error.at, now)}</div>` : ''}</div>`;
}

function table(head: string[], rows: string[], empty: string): string {
  if (rows.length === 0) return `<p class="dim">${esc(empty)}</p>`;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function artifactsSection(report: StatusReport, now: Date): string {
  const rows = buildView(report, now).artifacts.map((a) => {
    const dest = a.destinations
      .map(
        (d) =>
          `<div>${d.holds ? '<span class="ok">✓ holds</span>' : '<span class="bad">✗ lacks</span>'} ${esc(d.reference)}${
            d.error ? `<div class="err">${esc(d.error)}</div>` : ''
          }</div>`,
      )
      .join('');
    const age = a.updatedAt ? formatSeconds((now.getTime() - Date.parse(a.updatedAt)) / 1000) : '—';
    return `<tr class="row-${a.state}"><td>${badge(a.state)}</td><td class="nw"><b>${esc(a.key)}</b>${
      a.version ? `<div class="dim">${esc(a.version)}</div>` : ''
    }</td><td><code title="${esc(a.digest)}">${esc(shortDigest(a.digest))}</code>${
      a.signedBy ? `<div class="dim">${esc(a.signedBy)}</div>` : ''
    }</td><td>${when(a.updatedAt, now)}</td><td>${when(
      a.nextUpdate,
      now,
    )}</td><td class="num">${esc(age)}</td><td>${esc(a.source)}</td><td>${dest || '<span class="dim">none configured</span>'}</td></tr>${
      a.error ? `<tr class="row-failing"><td></td><td colspan="7">${errorCell(a.error, now)}</td></tr>` : ''
    }`;
  });
  return table(
    ['State', 'Artifact', 'Digest', 'UpdatedAt', 'NextUpdate', 'Age', 'Source', 'Destinations'],
    rows,
    'oci-sync is not configured',
  );
}

function repairCell(r: CacheRow['lastRepair'], now: Date): string {
  if (!r) return '<span class="dim">none since start</span>';
  const what = r.repaired ? '<span class="ok">repaired</span>' : '<span class="bad">repair failed</span>';
  return `${what} ${when(r.at, now)}<div class="dim">${esc(r.reason)}</div>`;
}

function cacheSection(report: StatusReport, now: Date): string {
  const rows = buildView(report, now).cache.map(
    (c) =>
      `<tr class="row-${c.state}"><td>${badge(c.state)}</td><td>${esc(c.dir)}</td><td class="nw"><b>${esc(c.part)}</b></td><td>${esc(
        c.version,
      )}</td><td>${when(c.updatedAt, now)}</td><td>${when(c.populatedAt, now)}</td><td>${
        c.stale ? '<span class="bad">stale</span>' : '<span class="ok">fresh</span>'
      }</td><td>${c.lastResult ? `${esc(c.lastResult.status)} ${when(c.lastResult.at, now)}` : '—'}${errorCell(
        c.error,
        now,
      )}</td><td>${repairCell(c.lastRepair, now)}</td></tr>`,
  );
  return table(
    [
      'State',
      'Cache dir',
      'Part',
      'Version',
      'Updated',
      'Populated at',
      'Stale',
      'Last populate',
      'Last repair',
    ],
    rows,
    'cache-populator is not configured',
  );
}

function vexSection(report: StatusReport, now: Date): string {
  const rows = buildView(report, now).vex.map(
    (v) =>
      `<tr class="row-${v.state}"><td>${badge(v.state)}</td><td><b>${esc(v.name)}</b></td><td><code title="${esc(v.version)}">${esc(
        shortDigest(v.version),
      )}</code></td><td class="num">${esc(formatBytes(v.archiveSize))}</td><td>${when(v.updatedAt, now)}</td><td class="num">${esc(
        formatSeconds(v.intervalSeconds),
      )}</td><td>${esc(v.url)}</td></tr>${v.error ? `<tr class="row-failing"><td></td><td colspan="6">${errorCell(v.error, now)}</td></tr>` : ''}`,
  );
  return table(
    ['State', 'Repository', 'Version', 'Archive', 'Updated (age)', 'Interval', 'Served at'],
    rows,
    'vexhub-mirror is not configured',
  );
}

function artifactUse(name: string, u: ArtifactUseStatus, now: Date): string {
  const tags = u.tags.length ? ` <code>:${u.tags.map(esc).join(' :')}</code>` : '';
  const extra = [
    u.notModified ? `${u.notModified}× 304` : '',
    u.failed ? `<span class="bad">${u.failed} failed</span>` : '',
  ].filter(Boolean);
  return `<div class="nw"><b>${esc(name)}</b>${tags} · ${u.requests} req · ${esc(formatBytes(u.bytes))}${
    extra.length ? ` · ${extra.join(' · ')}` : ''
  } · <span class="dim">${esc(relative(u.lastSeen, now))}</span></div>`;
}

function clientsSection(report: StatusReport, now: Date): string {
  const rows = (report.clients ?? []).map((c) => {
    const uses = Object.entries(c.artifacts).map(([name, u]) => artifactUse(name, u, now));
    const warn = c.warnings.length > 0;
    return `<tr${warn ? ' class="row-stale"' : ''}><td class="nw"><b>${esc(c.client)}</b></td><td>${esc(
      c.version,
    )}</td><td>${when(c.firstSeen, now)}</td><td>${when(c.lastSeen, now)}</td><td class="num">${c.requests}</td><td class="num">${esc(
      formatBytes(c.bytes),
    )}</td><td>${uses.join('')}</td></tr>${
      warn
        ? `<tr class="row-stale"><td></td><td colspan="6">${c.warnings.map((w) => `<div class="warn">⚠ ${esc(w)}</div>`).join('')}</td></tr>`
        : ''
    }`;
  });
  return table(
    [
      'Client',
      'Version',
      'First seen',
      'Last seen',
      'Requests',
      'Bytes',
      'Artifacts (tags · requests · bytes · last)',
    ],
    rows,
    'no client has fetched an artifact from the serving listener since start',
  );
}

/** Failed runs in a row at the end of a job's history. */
export function failuresInARow(history: readonly HistoryEntry[], job: string): number {
  let n = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    const e = history[i]!;
    if (e.job !== job) continue;
    if (e.status !== 'failure') break;
    n++;
  }
  return n;
}

function jobRow(j: JobStatus, history: readonly HistoryEntry[], now: Date): string {
  const r = j.lastRun;
  const state: PageState = r?.status === 'failure' ? 'failing' : j.running ? 'syncing' : 'ready';
  const inARow = failuresInARow(history, j.id);
  const last = r
    ? `${esc(r.status)}${inARow > 1 ? ` <span class="bad">(${inARow} in a row)</span>` : ''} · ${when(r.endedAt ?? r.startedAt, now)}`
    : '<span class="dim">not run yet</span>';
  const err =
    r?.status === 'failure'
      ? errorCell({ code: r.error?.code, message: r.error?.message ?? r.summary ?? 'failed' }, now)
      : '';
  return `<tr class="row-${state}"><td>${badge(state)}</td><td class="nw" title="${esc(j.description)}"><b>${esc(j.id)}</b></td><td>${last}${
    j.running ? `<div class="dim">running since ${when(j.currentRun?.startedAt, now)}</div>` : ''
  }</td><td class="num">${esc(r?.durationMs === undefined ? undefined : formatSeconds(r.durationMs / 1000))}</td><td class="num">${esc(
    formatBytes(r?.bytes),
  )}</td><td>${r && r.status !== 'failure' ? esc(r.summary) : err}</td><td>${when(j.nextRun, now)}<div class="dim">${esc(
    j.schedule ?? 'on demand',
  )}</div></td></tr>`;
}

export function renderStatusPage(
  report: StatusReport,
  history: readonly HistoryEntry[],
  now: Date,
  options: { adminLinks?: boolean } = {},
): string {
  const verdict = report.verdict;
  const jobs = table(
    ['State', 'Job', 'Last run', 'Duration', 'Bytes', 'Result', 'Next run'],
    report.jobs.map((j) => jobRow(j, history, now)),
    'no jobs',
  );
  const reasons = verdict.reasons.length
    ? `<ul class="reasons reasons-${verdict.state}">${verdict.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>`
    : '';
  const legend = [...STATES]
    .reverse()
    .map((s) => `${VERDICTS[s].word} (${esc(VERDICTS[s].meaning)})`)
    .join(' · ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<title>${verdict.word} · trivy-mirror</title>
<style>${STATE_CSS}</style></head>
<body>
<header class="top top-${verdict.state}"><div><h1>trivy-mirror</h1><span class="dim">version ${esc(report.version)} · up ${esc(
    formatSeconds(report.uptimeSeconds),
  )} · phase ${esc(report.phase)} · ${report.ready ? 'ready for clients' : 'not ready'}</span></div>
<div class="overall">${badge(verdict.state)}<div class="dim">rendered ${esc(formatTime(now.toISOString()))} UTC · reloads every ${REFRESH_SECONDS} s</div></div></header>
${reasons}
<main>
<section><h2>Artifacts</h2>${artifactsSection(report, now)}</section>
<section><h2>Jobs</h2>${jobs}</section>
<section><h2>Cache directories</h2>${cacheSection(report, now)}</section>
<section><h2>VEX repositories</h2>${vexSection(report, now)}</section>
<section id="network"><h2>Network</h2>${networkSection(report, now, { probe: options.adminLinks === true })}</section>
<section><h2>Clients since start</h2>${clientsSection(report, now)}</section>
<section><h2>Last 14 days</h2><div class="charts">${ageChart(history, now)}${bytesChart(history, now)}</div></section>
</main>
<footer class="dim">${options.adminLinks ? 'JSON: <a href="/status">/status</a> · metrics: <a href="/metrics">/metrics</a> · ' : ''}states: ${legend}</footer>
</body></html>
`;
}

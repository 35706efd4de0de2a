// The status page's Network section: each configured host's route (direct or which proxy, and why)
// from /status `network`, and on the admin listener a button that runs the network self-check (a plain
// form POST to /network/probe: no script) and the lines of the last run, as `trivy-mirror doctor`
// prints them.
import { esc, formatTime, relative } from './status-format.js';
import { PROBE_PATH } from '../network/network-probe-service.js';
import type { StatusReport } from './status-report.js';

function routesTable(report: StatusReport): string {
  const hosts = report.network?.hosts ?? [];
  if (hosts.length === 0) return '<p class="dim">no source, destination or VEX host is configured</p>';
  const rows = hosts.map(
    (h) =>
      `<tr><td>${esc(h.role)}</td><td class="nw"><b>${esc(h.target)}</b></td><td>${
        h.via === 'direct' ? 'direct' : `<code>${esc(h.via)}</code>`
      }</td><td>${esc(h.why)}</td></tr>`,
  );
  return `<table><thead><tr><th>Role</th><th>Host</th><th>Route</th><th>Why</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function lastProbe(report: StatusReport, now: Date): string {
  const run = report.network?.lastProbe;
  if (!run) return '<p class="dim">not run since start</p>';
  const failed = run.hosts.filter((h) => h.failed).length;
  const verdict = failed
    ? `<span class="bad">${failed} of ${run.hosts.length} host(s) failed</span>`
    : `<span class="ok">${run.hosts.length} host(s) reachable</span>`;
  const lines = run.lines.map(
    (l, i) => `<div class="${run.hosts[i]?.failed ? 'bad' : 'ok'}">${esc(l)}</div>`,
  );
  return `<p>Last self-check <span class="t" title="${esc(run.at)}">${esc(formatTime(run.at))}</span> <span class="dim">${esc(
    relative(run.at, now),
  )}, ${run.ms} ms</span>: ${verdict}</p><div class="probe" id="network-probe-lines">${lines.join('') || '<div class="dim">no hosts</div>'}</div>`;
}

export function networkSection(report: StatusReport, now: Date, options: { probe: boolean }): string {
  const probe = options.probe
    ? `<form method="post" action="${PROBE_PATH}" class="probe-form"><button type="submit" id="network-probe">Run the network self-check</button> <span class="dim">each host layer by layer through the proxy and trust: DNS, TCP, proxy, TLS, /v2/, token auth (as <code>trivy-mirror doctor</code>)</span></form>${lastProbe(
        report,
        now,
      )}`
    : '';
  return `${routesTable(report)}${probe}`;
}

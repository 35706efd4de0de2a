// The status page's history charts, drawn server-side as inline SVG: DB age per artifact tag over
// time (lines) and bytes synced per day (bars) with failed runs marked, over the last 14 days.
import type { HistoryEntry } from './status-history.js';
import { esc, formatBytes, formatSeconds } from './status-format.js';

const DAY_MS = 86_400_000;
const W = 600;
const H = 170;
const PAD = { left: 52, right: 24, top: 24, bottom: 26 };
const SERIES_COLOURS = ['#2563eb', '#7c3aed', '#0d9488', '#c2410c'];

interface Frame {
  from: number;
  to: number;
  x(t: number): number;
  y(v: number): number;
  max: number;
}

function frame(now: number, days: number, max: number): Frame {
  const from = now - days * DAY_MS;
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  return {
    from,
    to: now,
    max,
    x: (t) => PAD.left + ((t - from) / (now - from)) * iw,
    y: (v) => PAD.top + ih - (max > 0 ? (v / max) * ih : 0),
  };
}

/** 1, 2, 5 × 10^n just above `v`. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

function axes(f: Frame, title: string, label: (v: number) => string, days: number): string {
  const out: string[] = [`<text x="${PAD.left}" y="14" class="ct">${esc(title)}</text>`];
  for (const frac of [0, 0.5, 1]) {
    const y = f.y(f.max * frac);
    out.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" class="grid"/>`,
      `<text x="${PAD.left - 6}" y="${y + 4}" class="ax" text-anchor="end">${esc(label(f.max * frac))}</text>`,
    );
  }
  for (let d = 0; d <= days; d += 2) {
    const t = f.from + d * DAY_MS;
    const x = f.x(t);
    const day = new Date(t).toISOString().slice(5, 10);
    out.push(`<text x="${x}" y="${H - 8}" class="ax" text-anchor="middle">${day}</text>`);
  }
  return out.join('');
}

function svg(body: string, label: string): string {
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(label)}">${body}</svg>`;
}

export function ageChart(entries: readonly HistoryEntry[], now: Date, days = 14): string {
  const series = new Map<string, [number, number][]>();
  for (const e of entries) {
    for (const [key, age] of Object.entries(e.ages ?? {})) {
      if (!Number.isFinite(age)) continue;
      if (!series.has(key) && series.size >= SERIES_COLOURS.length) continue;
      const points = series.get(key) ?? [];
      points.push([Date.parse(e.t), age / 3600]);
      series.set(key, points);
    }
  }
  const max = niceMax(Math.max(0, ...[...series.values()].flat().map(([, h]) => h)));
  const f = frame(now.getTime(), days, max);
  const label = (hours: number) => formatSeconds(hours * 3600);
  const parts = [axes(f, 'DB age (since UpdatedAt)', label, days)];
  let i = 0;
  for (const [key, points] of series) {
    const colour = SERIES_COLOURS[i];
    const inside = points.filter(([t]) => t >= f.from);
    const d = inside
      .map(([t, h], n) => `${n === 0 ? 'M' : 'L'}${f.x(t).toFixed(1)},${f.y(h).toFixed(1)}`)
      .join('');
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="1.6"/>`);
    // Dots too: a single run draws no line.
    for (const [t, h] of inside.slice(-200))
      parts.push(`<circle cx="${f.x(t).toFixed(1)}" cy="${f.y(h).toFixed(1)}" r="2.2" fill="${colour}"/>`);
    parts.push(
      `<rect x="${W - PAD.right - (series.size - i) * 100}" y="6" width="10" height="10" fill="${colour}"/>`,
      `<text x="${W - PAD.right - (series.size - i) * 100 + 14}" y="15" class="ax">${esc(key)}</text>`,
    );
    i++;
  }
  if (series.size === 0)
    parts.push(
      `<text x="${W / 2}" y="${H / 2}" class="ax" text-anchor="middle">no syncs recorded yet</text>`,
    );
  return svg(parts.join(''), 'DB age over the last 14 days');
}

export function bytesChart(entries: readonly HistoryEntry[], now: Date, job = 'oci-sync', days = 14): string {
  const perDay = new Map<number, { bytes: number; failures: number }>();
  const today = Math.floor(now.getTime() / DAY_MS);
  for (const e of entries) {
    if (e.job !== job) continue;
    const day = Math.floor(Date.parse(e.t) / DAY_MS);
    if (day <= today - days) continue;
    const d = perDay.get(day) ?? { bytes: 0, failures: 0 };
    d.bytes += e.bytes ?? 0;
    if (e.status === 'failure') d.failures++;
    perDay.set(day, d);
  }
  const max = niceMax(Math.max(0, ...[...perDay.values()].map((d) => d.bytes)));
  const f = frame(now.getTime(), days, max);
  const parts = [axes(f, 'Bytes synced per day · failed runs ▲', (v) => formatBytes(Math.round(v)), days)];
  const bw = ((W - PAD.left - PAD.right) / days) * 0.7;
  for (const [day, d] of perDay) {
    const x = f.x(day * DAY_MS + DAY_MS / 2) - bw / 2;
    const y = f.y(d.bytes);
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bw.toFixed(1)}" height="${(f.y(0) - y).toFixed(1)}" class="bar"><title>${esc(new Date(day * DAY_MS).toISOString().slice(0, 10))}: ${esc(formatBytes(d.bytes))}, ${d.failures} failed</title></rect>`,
    );
    if (d.failures > 0) {
      // Above the bar, so a busy day does not hide its failures.
      const cx = x + bw / 2;
      const by = Math.max(PAD.top + 14, y - 2);
      parts.push(
        `<path d="M${cx - 5},${by - 2}L${cx + 5},${by - 2}L${cx},${by - 11}Z" class="fail"/>`,
        `<text x="${cx}" y="${by - 14}" class="ax fail-t" text-anchor="middle">${d.failures}</text>`,
      );
    }
  }
  if (perDay.size === 0)
    parts.push(
      `<text x="${W / 2}" y="${H / 2}" class="ax" text-anchor="middle">no syncs recorded yet</text>`,
    );
  return svg(parts.join(''), 'Bytes synced per day over the last 14 days');
}

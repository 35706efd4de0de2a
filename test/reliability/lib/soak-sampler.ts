// What the soak watches in the daemon while it runs: RSS (/proc/PID/status), the V8 heap in use
// (/metrics), open files (/proc/PID/fd) and temp files under the state and cache dirs. Samples are
// grouped into windows of N runs; each window keeps its minimum, the floor (memory after a collection
// rather than wherever GC happened to be; files not counting the connections and temp files of the
// moment), and a least-squares slope over the windows says whether the floor grows with the runs.
import { readdir, readFile } from 'node:fs/promises';
import { checkNoTempFiles } from './invariants.js';

export interface Sample {
  /** Runs finished when the sample was taken. */
  runs: number;
  rss?: number;
  heap?: number;
  fds?: number;
  temp?: number;
}

export interface Window {
  /** Mean run count of the window's samples. */
  runs: number;
  rssMin: number;
  heapMin: number;
  fdsMin: number;
  tempMin: number;
}

export async function rssBytes(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

export async function openFiles(pid: number): Promise<number | undefined> {
  return (await readdir(`/proc/${pid}/fd`).catch(() => undefined))?.length;
}

/** nodejs_heap_size_used_bytes from the daemon's /metrics. */
export async function heapUsed(adminUrl: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const v = /^nodejs_heap_size_used_bytes\s+(\S+)/m.exec(text)?.[1];
    return v === undefined ? undefined : Number(v);
  } catch {
    return undefined;
  }
}

export async function tempFiles(roots: string[]): Promise<number> {
  return (await checkNoTempFiles(roots)).length;
}

/** Samples grouped by `every` runs, the minimum of each measure per window. */
export function windows(samples: Sample[], every: number): Window[] {
  const groups = new Map<number, Sample[]>();
  for (const s of samples) {
    const k = Math.floor(s.runs / every);
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const out: Window[] = [];
  const min = (xs: (number | undefined)[]) => Math.min(...xs.filter((x): x is number => x !== undefined));
  for (const [, g] of [...groups].sort(([a], [b]) => a - b)) {
    const w: Window = {
      runs: g.reduce((n, s) => n + s.runs, 0) / g.length,
      rssMin: min(g.map((s) => s.rss)),
      heapMin: min(g.map((s) => s.heap)),
      fdsMin: min(g.map((s) => s.fds)),
      tempMin: min(g.map((s) => s.temp)),
    };
    // a window without one kind of sample (too short) is left out
    if ([w.rssMin, w.heapMin, w.fdsMin, w.tempMin].every(Number.isFinite)) out.push(w);
  }
  return out;
}

/** Least-squares slope of y over x (units of y per unit of x); 0 for fewer than two points. */
export function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

export interface Slopes {
  /** Per 100 runs, over the second half of the windows. */
  rssBytes: number;
  heapBytes: number;
  fds: number;
  temp: number;
}

export function secondHalfSlopes(ws: Window[]): Slopes {
  const half = ws.slice(Math.floor(ws.length / 2));
  const per100 = (f: (w: Window) => number) => slope(half.map((w) => [w.runs, f(w)])) * 100;
  return {
    rssBytes: per100((w) => w.rssMin),
    heapBytes: per100((w) => w.heapMin),
    fds: per100((w) => w.fdsMin),
    temp: per100((w) => w.tempMin),
  };
}

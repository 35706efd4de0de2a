// Soak: the daemon left to its own cron (a run every second or two) against a small upstream with a
// seeded fault plan armed on every proxy all along, new upstream versions now and then, until N
// scheduled runs finished. Every run must end success, skipped or a failure with an error code;
// RSS, V8 heap, open files and temp files are sampled all along, and their slope over the second
// half (per 100 runs) must stay under the bounds. Then a restart without faults must find everything
// consistent and converged, with no temp leftovers.
import { readFile, writeFile } from 'node:fs/promises';
import { randomFaultPlan } from '@trivy-mirror/fixtures';
import { restartAndCheck } from './fault-suite.js';
import type { SuiteReport } from './report.js';
import {
  heapUsed,
  openFiles,
  rssBytes,
  type Sample,
  type Slopes,
  secondHalfSlopes,
  tempFiles,
  type Window,
  windows,
} from './soak-sampler.js';
import { SoakTally } from './soak-tally.js';
import type { World } from './world.js';

export interface SoakOptions {
  /** Scheduled runs (every job) to finish. */
  runs: number;
  /** Give up (a violation) after this long. */
  maxMs: number;
  /** Probability that a request through a proxy gets a fault. */
  rate: number;
  /** A new upstream trivy-db every this many ms (java-db and checks every 4th, VEX every 6th). */
  publishEveryMs: number;
  /** Bounds of the second half's slopes, per 100 runs. */
  bounds: Slopes;
  onProgress?: (line: string) => void;
}

export interface SoakResult {
  slopes: Slopes;
  /** First and last window's floors (bytes) and file counts. */
  first: { rss: number; heap: number; fds: number };
  last: { rss: number; heap: number; fds: number };
  ms: number;
  samples: number;
  windowRuns: number;
  windows: Window[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KB = 1024;

export async function soakRun(world: World, report: SuiteReport, o: SoakOptions): Promise<SoakResult> {
  const daemon = world.requireDaemon();
  const pid = daemon.child.pid!;
  const tally = new SoakTally();
  let read = 0;
  const drain = () => {
    const lines = daemon.logs();
    for (; read < lines.length; read++) tally.record(lines[read]!);
  };
  const plans = {
    up: randomFaultPlan({ seed: `${report.seed}:soak:up`, rate: o.rate }),
    dst: randomFaultPlan({ seed: `${report.seed}:soak:dst`, rate: o.rate }),
    vex: randomFaultPlan({ seed: `${report.seed}:soak:vex`, rate: o.rate }),
  };
  drain();
  const base = tally.scheduled;
  const runs = () => tally.scheduled - base;
  const samples: Sample[] = [];
  const roots = [world.stateDir, world.cacheDir];
  const t0 = Date.now();
  let lastHeap = 0;
  let lastTemp = 0;
  let lastPublish = t0;
  let published = 0;
  let nextProgress = o.runs / 10;
  world.setFaults({ up: plans.up.fault, dst: plans.dst.fault, vex: plans.vex.fault });
  try {
    while (runs() < o.runs) {
      if (daemon.child.exitCode !== null || daemon.child.signalCode !== null)
        throw new Error(`the daemon exited (${daemon.child.exitCode ?? daemon.child.signalCode})`);
      if (Date.now() - t0 > o.maxMs) {
        report.violation('soak', `only ${runs()} of ${o.runs} runs within ${o.maxMs / 60_000} min`);
        break;
      }
      const now = Date.now();
      const s: Sample = { runs: runs(), rss: await rssBytes(pid), fds: await openFiles(pid) };
      if (now - lastHeap >= 1000) {
        s.heap = await heapUsed(world.adminUrl);
        lastHeap = now;
      }
      if (now - lastTemp >= 5000) {
        s.temp = await tempFiles(roots);
        lastTemp = now;
      }
      samples.push(s);
      if (now - lastPublish >= o.publishEveryMs) {
        lastPublish = now;
        published++;
        await world.publish(
          published % 4 === 0 ? ['trivy-db', 'trivy-java-db', 'trivy-checks'] : ['trivy-db'],
        );
        if (published % 6 === 0) await world.publishVex(published);
      }
      drain();
      if (runs() >= nextProgress) {
        nextProgress += o.runs / 10;
        const mb = (n?: number) => (n === undefined ? '-' : (n / KB / KB).toFixed(1));
        o.onProgress?.(
          `${runs()} runs in ${Math.round((Date.now() - t0) / 1000)} s: rss ${mb(s.rss)} MB, heap ${mb(samples.findLast((x) => x.heap)?.heap)} MB, fds ${s.fds}, failures ${[...tally.outcomes].filter(([k]) => k.includes('failure')).reduce((n, [, v]) => n + v, 0)}`,
        );
      }
      await sleep(500);
    }
  } finally {
    world.clearFaults();
  }
  const ms = Date.now() - t0;
  drain();

  report.runs = runs();
  report.faults = plans.up.total() + plans.dst.total() + plans.vex.total();
  for (const [k, v] of [...tally.outcomes].sort()) report.count(`runs: ${k}`, v);
  report.count('runs finished (every reason)', tally.finished);
  report.count('new upstream versions', published);
  report.count(`longest run (ms, ${tally.longest.job})`, tally.longest.ms);
  report.count('most temp files seen at once', Math.max(0, ...samples.map((s) => s.temp ?? 0)));
  report.count('most open files seen', Math.max(0, ...samples.map((s) => s.fds ?? 0)));
  for (const u of tally.unclassified) report.violation('soak', u);
  for (const c of tally.causeless) report.violation('soak', `error log without a cause: ${c}`);

  const every = Math.max(5, Math.floor(o.runs / 40));
  const ws = windows(samples, every);
  const slopes = secondHalfSlopes(ws);
  const checks: [keyof Slopes, string, number][] = [
    ['rssBytes', 'RSS', KB],
    ['heapBytes', 'heap', KB],
    ['fds', 'open files', 1],
    ['temp', 'temp files', 1],
  ];
  for (const [key, what, unit] of checks) {
    if (slopes[key] > o.bounds[key])
      report.violation(
        'soak',
        `${what} grows ${(slopes[key] / unit).toFixed(2)} per 100 runs over the second half (bound ${(o.bounds[key] / unit).toFixed(2)})`,
      );
  }
  const first = ws[0];
  const last = ws[ws.length - 1];
  if (!first || !last || ws.length < 8) report.violation('soak', `only ${ws.length} sample windows`);

  // A clean restart on a quiet schedule: consistent, converged, nothing left in temp.
  const config = await readFile(world.configPath, 'utf8');
  await writeFile(world.configPath, config.replace(/schedule: "[^"]*"/g, 'schedule: "0 0 1 1 *"'));
  await world.stopDaemon('SIGTERM');
  await restartAndCheck(world, report, 'restart after the soak');
  await world.runJob('oci-sync');
  if (!(await world.converged()))
    report.violation('restart after the soak', 'store or destination not converged');
  return {
    slopes,
    first: { rss: first?.rssMin ?? 0, heap: first?.heapMin ?? 0, fds: first?.fdsMin ?? 0 },
    last: { rss: last?.rssMin ?? 0, heap: last?.heapMin ?? 0, fds: last?.fdsMin ?? 0 },
    ms,
    samples: samples.length,
    windowRuns: every,
    windows: ws,
  };
}

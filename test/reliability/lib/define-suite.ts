// The describe/before/after wiring every seeded reliability suite shares, written once: the CI subset
// (test/reliability/*.test.ts) and the long runs (full/) differ only in their parameters. Each suite
// warms a World up, runs its seeded runs, prints its report (in after() too, so the figures and the
// replay hint show even when a run throws) and asserts enough runs and zero invariant violations.
import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, test } from 'node:test';
import { crashRuns } from './crash-suite.js';
import { faultRuns, restartAndCheck } from './fault-suite.js';
import { loadRun } from './load-suite.js';
import { SuiteReport } from './report.js';
import { soakRun } from './soak-suite.js';
import type { Slopes } from './soak-sampler.js';
import { World, type WorldOptions } from './world.js';

export interface ReliabilitySuite {
  /** The describe() title. */
  title: string;
  /** The report's name (printed with the figures and in the replay hint). */
  report: string;
  timeoutMs: number;
  world: WorldOptions;
  /** Serve a small synthetic VEX repository before the daemon starts. */
  publishVex?: boolean;
  /** Stop the daemon after the warm-up (crash runs start and kill their own). */
  stopAfterWarmUp?: boolean;
  /** The test's name. */
  test: string;
  run: (world: World, report: SuiteReport, t: TestContext) => Promise<void>;
  /** The least number of runs the report must count. */
  minRuns: number;
  /** The failure message when fewer runs completed. */
  minRunsMessage?: string;
}

export function defineReliabilitySuite(s: ReliabilitySuite): void {
  describe(s.title, { timeout: s.timeoutMs }, () => {
    const report = new SuiteReport(s.report);
    const world = new World(s.world);
    let printed = false;

    before(async () => {
      await world.warmUp({ publishVex: s.publishVex });
      if (s.stopAfterWarmUp) await world.stopDaemon('SIGTERM');
    });

    after(async () => {
      if (!printed) report.print();
      await world.stop();
    });

    test(s.test, async (t) => {
      await s.run(world, report, t);
      report.print(t);
      printed = true;
      assert.ok(report.runs >= s.minRuns, s.minRunsMessage ?? `${report.runs} runs, expected ${s.minRuns}`);
      assert.equal(report.violations.length, 0, report.failure());
    });
  });
}

/** Common parameters of the suites below. */
interface SuiteBase {
  title: string;
  report: string;
  timeoutMs: number;
  /** Size of the synthetic trivy.db. */
  dbBytes: number;
}

/**
 * One progress line per run as a TAP diagnostic when RELIABILITY_VERBOSE is set, else every
 * `every`-th run only (none when `every` is undefined).
 */
function progress(t: TestContext, every?: number): (i: number, line: string) => void {
  return (i, line) => {
    if (process.env.RELIABILITY_VERBOSE || (every !== undefined && i % every === every - 1))
      t.diagnostic(line);
  };
}

export interface CrashSuiteParams extends SuiteBase {
  runs: number;
  /** Show every N-th run's line without RELIABILITY_VERBOSE. */
  progressEvery?: number;
}

/** SIGKILL runs (lib/crash-suite.ts) on a warmed-up world whose daemon is stopped first. */
export function defineCrashSuite(p: CrashSuiteParams): void {
  defineReliabilitySuite({
    title: p.title,
    report: p.report,
    timeoutMs: p.timeoutMs,
    world: { dbBytes: p.dbBytes },
    stopAfterWarmUp: true,
    test: `${p.runs} crash runs: consistent at the crash, recovered after a restart`,
    run: (world, report, t) =>
      crashRuns(world, report, { runs: p.runs, onRun: progress(t, p.progressEvery) }),
    minRuns: p.runs,
  });
}

export interface FaultSuiteParams extends SuiteBase {
  runs: number;
  /** Probability that a request gets a fault. */
  rate: number;
  /** A new VEX archive (and a vexhub-mirror run) every N runs. */
  vexEvery: number;
  /** Show every N-th run's line without RELIABILITY_VERBOSE. */
  progressEvery?: number;
}

/** Seeded fault runs (lib/fault-suite.ts), then a restart with everything checked again, temp files included. */
export function defineFaultSuite(p: FaultSuiteParams): void {
  defineReliabilitySuite({
    title: p.title,
    report: p.report,
    timeoutMs: p.timeoutMs,
    world: { dbBytes: p.dbBytes },
    test: `${p.runs} seeded fault runs end consistent, and every failed pass recovers`,
    run: async (world, report, t) => {
      await faultRuns(world, report, {
        runs: p.runs,
        rate: p.rate,
        vexEvery: p.vexEvery,
        onRun: progress(t, p.progressEvery),
      });
      await restartAndCheck(world, report, 'restart');
    },
    minRuns: p.runs,
  });
}

export interface LoadSuiteParams extends SuiteBase {
  clients: number;
  seconds: number;
  /** A new upstream version (and sync) every this many ms. */
  publishEveryMs: number;
}

/** Concurrent clients (lib/load-suite.ts) while versions are synced and published underneath. */
export function defineLoadSuite(p: LoadSuiteParams): void {
  defineReliabilitySuite({
    title: p.title,
    report: p.report,
    timeoutMs: p.timeoutMs,
    world: { dbBytes: p.dbBytes },
    publishVex: true,
    test: `${p.clients} clients for ${p.seconds} s: every answer complete and correct`,
    run: (world, report) =>
      loadRun(world, report, {
        clients: p.clients,
        durationMs: p.seconds * 1000,
        publishEveryMs: p.publishEveryMs,
      }),
    minRuns: 1,
    minRunsMessage: 'no pull completed',
  });
}

export interface SoakSuiteParams extends SuiteBase {
  /** Scheduled runs to finish. */
  runs: number;
  /** Cron of oci-sync and vexhub-mirror (6 fields: seconds first). */
  schedule: { ociSync: string; vex: string };
  rate: number;
  publishEveryMs: number;
  /** Give up after this long. */
  maxMs: number;
  /** Largest growth allowed over the second half, per 100 runs. */
  bounds: Slopes;
}

/** The daemon on its own cron under faults (lib/soak-suite.ts); resource slopes printed and bounded. */
export function defineSoakSuite(p: SoakSuiteParams): void {
  defineReliabilitySuite({
    title: p.title,
    report: p.report,
    timeoutMs: p.timeoutMs,
    world: {
      dbBytes: p.dbBytes,
      schedule: p.schedule,
      // new versions every few seconds: unreferenced blobs go after a minute, not half an hour
      ociSyncExtra: ['blobGraceMinutes: 1'],
      cacheExtra: ['checkIntervalSeconds: 10'],
      // as the systemd unit runs it (see README: glibc's heap fragments without it)
      daemonEnv: { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072' },
    },
    publishVex: true,
    test: `${p.runs} scheduled runs under faults: each classified, memory, files and temp flat`,
    run: async (world, report, t) => {
      const r = await soakRun(world, report, {
        runs: p.runs,
        maxMs: p.maxMs,
        rate: p.rate,
        publishEveryMs: p.publishEveryMs,
        bounds: p.bounds,
        onProgress: (line) => t.diagnostic(line),
      });
      const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
      const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MB`;
      const lines = [
        `soak: ${report.runs} scheduled runs in ${(r.ms / 60_000).toFixed(1)} min, ${r.samples} samples, windows of ${r.windowRuns} runs`,
        `soak slopes per 100 runs (second half): rss ${kb(r.slopes.rssBytes)}, heap ${kb(r.slopes.heapBytes)}, fds ${r.slopes.fds.toFixed(3)}, temp files ${r.slopes.temp.toFixed(3)}`,
        `soak floors first → last window: rss ${mb(r.first.rss)} → ${mb(r.last.rss)}, heap ${mb(r.first.heap)} → ${mb(r.last.heap)}, fds ${r.first.fds} → ${r.last.fds}`,
      ];
      for (const line of lines) {
        t.diagnostic(line);
        console.log(line);
      }
      // the series behind the slopes: floors per window
      for (const w of r.windows)
        t.diagnostic(
          `window @${Math.round(w.runs)} runs: rss ${mb(w.rssMin)}, heap ${mb(w.heapMin)}, fds ${w.fdsMin}, temp ${w.tempMin}`,
        );
    },
    minRuns: p.runs,
  });
}

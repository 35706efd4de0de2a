// Full run (npm run test:reliability): more SIGKILL crash runs with a bigger layer.
// RELIABILITY_CRASH_RUNS / RELIABILITY_SEED override.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { crashRuns } from '../lib/crash-suite.js';
import { envInt } from '../lib/params.js';
import { SuiteReport } from '../lib/report.js';
import { World } from '../lib/world.js';

const RUNS = envInt('RELIABILITY_CRASH_RUNS', 40);

describe('reliability (full): SIGKILL at targeted and random points', { timeout: 30 * 60_000 }, () => {
  const report = new SuiteReport('crash-full');
  const world = new World({ dbBytes: 8 * 1024 * 1024 });
  let printed = false;

  before(async () => {
    await world.start();
    await world.startDaemon();
    await world.waitJobFinished('oci-sync', 60_000);
    await world.waitJobFinished('vexhub-mirror', 60_000);
    await world.idle();
    await world.stopDaemon('SIGTERM');
  });

  after(async () => {
    if (!printed) report.print();
    await world.stop();
  });

  test(`${RUNS} crash runs: consistent at the crash, recovered after a restart`, async (t) => {
    await crashRuns(world, report, {
      runs: RUNS,
      onRun: (_i, line) => t.diagnostic(line),
    });
    report.print(t);
    printed = true;
    assert.ok(report.runs >= RUNS);
    assert.equal(report.violations.length, 0, report.failure());
  });
});

// CI subset: the built daemon killed with SIGKILL mid-download, mid-push, during cache population,
// during VEX publication and at seeded random moments; checked at the crash and after a restart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { crashRuns } from './lib/crash-suite.js';
import { envInt } from './lib/params.js';
import { SuiteReport } from './lib/report.js';
import { World } from './lib/world.js';

const RUNS = envInt('RELIABILITY_CRASH_RUNS', 10);

describe('reliability: SIGKILL at targeted and random points', { timeout: 240_000 }, () => {
  const report = new SuiteReport('crash');
  // a layer big enough that a kill lands inside its transfer (about 100 KiB compressed, sent slowly)
  const world = new World({ dbBytes: 1024 * 1024 });
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
      onRun: process.env.RELIABILITY_VERBOSE ? (_i, line) => t.diagnostic(line) : undefined,
    });
    report.print(t);
    printed = true;
    assert.ok(report.runs >= RUNS);
    assert.equal(report.violations.length, 0, report.failure());
  });
});

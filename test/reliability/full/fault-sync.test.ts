// Full run (npm run test:reliability): many more seeded fault runs at a higher fault rate.
// RELIABILITY_FAULT_RUNS / RELIABILITY_FAULT_RATE / RELIABILITY_SEED override.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { faultRuns, restartAndCheck } from '../lib/fault-suite.js';
import { envInt, envRate } from '../lib/params.js';
import { SuiteReport } from '../lib/report.js';
import { World } from '../lib/world.js';

const RUNS = envInt('RELIABILITY_FAULT_RUNS', 200);
const RATE = envRate('RELIABILITY_FAULT_RATE', 0.25);

describe('reliability (full): seeded faults during sync and push', { timeout: 30 * 60_000 }, () => {
  const report = new SuiteReport('fault-sync-full');
  const world = new World({ dbBytes: 256 * 1024 });
  let printed = false;

  before(async () => {
    await world.start();
    await world.startDaemon();
    await world.waitJobFinished('oci-sync', 60_000);
    await world.waitJobFinished('vexhub-mirror', 60_000);
    await world.idle();
  });

  after(async () => {
    if (!printed) report.print();
    await world.stop();
  });

  test(`${RUNS} seeded fault runs end consistent, and every failed pass recovers`, async (t) => {
    const every = Math.max(1, Math.floor(RUNS / 4));
    await faultRuns(world, report, {
      runs: RUNS,
      rate: RATE,
      vexEvery: 3,
      onRun: (i, line) => {
        if (process.env.RELIABILITY_VERBOSE || i % every === every - 1) t.diagnostic(line);
      },
    });
    // a restart in the middle of the history, then everything checked again, temp files included
    await restartAndCheck(world, report, 'restart');
    report.print(t);
    printed = true;
    assert.ok(report.runs >= RUNS);
    assert.equal(report.violations.length, 0, report.failure());
  });
});

// CI subset: seeded fault runs (connection resets, truncated and flipped bodies, 429 with Retry-After,
// 5xx, slow and stalled responses) between the daemon and the upstream registry, the destination
// registry and the VEX server; every run ends with the invariant check. Replay: RELIABILITY_SEED=….
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { faultRuns, restartAndCheck } from './lib/fault-suite.js';
import { envInt, envRate } from './lib/params.js';
import { SuiteReport } from './lib/report.js';
import { World } from './lib/world.js';

const RUNS = envInt('RELIABILITY_FAULT_RUNS', 50);
const RATE = envRate('RELIABILITY_FAULT_RATE', 0.2);

describe('reliability: seeded faults during sync and push', { timeout: 240_000 }, () => {
  const report = new SuiteReport('fault-sync');
  const world = new World({ dbBytes: 48 * 1024 });
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
    await faultRuns(world, report, {
      runs: RUNS,
      rate: RATE,
      vexEvery: 5,
      onRun: process.env.RELIABILITY_VERBOSE ? (_i, line) => t.diagnostic(line) : undefined,
    });
    await restartAndCheck(world, report, 'restart');
    report.print(t);
    printed = true;
    assert.ok(report.runs >= RUNS);
    assert.equal(report.violations.length, 0, report.failure());
  });
});

// CI subset of the load run: concurrent clients pull trivy-db:2 from the embedded registry and the
// VEX repository from the serving listener while new versions are synced and published underneath.
// The full run (test/reliability/full/load.test.ts) uses 64 clients for longer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadRun } from './lib/load-suite.js';
import { envInt } from './lib/params.js';
import { SuiteReport } from './lib/report.js';
import { World } from './lib/world.js';

const CLIENTS = envInt('RELIABILITY_LOAD_CLIENTS', 16);
const SECONDS = envInt('RELIABILITY_LOAD_SECONDS', 8);

describe('reliability: load while syncing and publishing', { timeout: 180_000 }, () => {
  const report = new SuiteReport('load');
  const world = new World({ dbBytes: 1024 * 1024 });
  let printed = false;

  before(async () => {
    await world.start();
    await world.publishVex(0);
    await world.startDaemon();
    await world.waitJobFinished('oci-sync', 60_000);
    await world.waitJobFinished('vexhub-mirror', 60_000);
    await world.idle();
  });

  after(async () => {
    if (!printed) report.print();
    await world.stop();
  });

  test(`${CLIENTS} clients for ${SECONDS} s: every answer complete and correct`, async (t) => {
    await loadRun(world, report, { clients: CLIENTS, durationMs: SECONDS * 1000, publishEveryMs: 1000 });
    report.print(t);
    printed = true;
    assert.ok(report.runs > 0, 'no pull completed');
    assert.equal(report.violations.length, 0, report.failure());
  });
});

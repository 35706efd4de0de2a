// Full load run (npm run test:reliability): 64 concurrent clients pull trivy-db:2 from the embedded
// registry and the VEX repository while new versions are synced and published.
// RELIABILITY_LOAD_CLIENTS / RELIABILITY_LOAD_SECONDS override.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadRun } from '../lib/load-suite.js';
import { envInt } from '../lib/params.js';
import { SuiteReport } from '../lib/report.js';
import { World } from '../lib/world.js';

const CLIENTS = envInt('RELIABILITY_LOAD_CLIENTS', 64);
const SECONDS = envInt('RELIABILITY_LOAD_SECONDS', 45);

describe('reliability (full): load while syncing and publishing', { timeout: 10 * 60_000 }, () => {
  const report = new SuiteReport('load-full');
  const world = new World({ dbBytes: 4 * 1024 * 1024 });
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
    await loadRun(world, report, { clients: CLIENTS, durationMs: SECONDS * 1000, publishEveryMs: 2000 });
    report.print(t);
    printed = true;
    assert.ok(report.runs > 0, 'no pull completed');
    assert.equal(report.violations.length, 0, report.failure());
  });
});

// Full run (npm run test:reliability): many more seeded fault runs at a higher fault rate.
// RELIABILITY_FAULT_RUNS / RELIABILITY_FAULT_RATE / RELIABILITY_SEED override.
import { defineFaultSuite } from '../lib/define-suite.js';
import { envInt, envRate } from '../lib/params.js';

const RUNS = envInt('RELIABILITY_FAULT_RUNS', 200);

defineFaultSuite({
  title: 'reliability (full): seeded faults during sync and push',
  report: 'fault-sync-full',
  timeoutMs: 30 * 60_000,
  dbBytes: 256 * 1024,
  runs: RUNS,
  rate: envRate('RELIABILITY_FAULT_RATE', 0.25),
  vexEvery: 3,
  // four progress lines over the whole run
  progressEvery: Math.max(1, Math.floor(RUNS / 4)),
});

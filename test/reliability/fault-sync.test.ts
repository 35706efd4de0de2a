// CI subset: seeded fault runs (connection resets, truncated and flipped bodies, 429 with Retry-After,
// 5xx, slow and stalled responses) between the daemon and the upstream registry, the destination
// registry and the VEX server; every run ends with the invariant check. Replay: RELIABILITY_SEED=….
// RELIABILITY_FAULT_RUNS / RELIABILITY_FAULT_RATE / RELIABILITY_VERBOSE override.
import { defineFaultSuite } from './lib/define-suite.js';
import { envInt, envRate } from './lib/params.js';

defineFaultSuite({
  title: 'reliability: seeded faults during sync and push',
  report: 'fault-sync',
  timeoutMs: 240_000,
  dbBytes: 48 * 1024,
  runs: envInt('RELIABILITY_FAULT_RUNS', 50),
  rate: envRate('RELIABILITY_FAULT_RATE', 0.2),
  vexEvery: 5,
});

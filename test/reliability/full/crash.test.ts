// Full run (npm run test:reliability): more SIGKILL crash runs with a bigger layer.
// RELIABILITY_CRASH_RUNS / RELIABILITY_SEED override.
import { defineCrashSuite } from '../lib/define-suite.js';
import { envInt } from '../lib/params.js';

defineCrashSuite({
  title: 'reliability (full): SIGKILL at targeted and random points',
  report: 'crash-full',
  timeoutMs: 30 * 60_000,
  dbBytes: 8 * 1024 * 1024,
  runs: envInt('RELIABILITY_CRASH_RUNS', 40),
  // a line for every run
  progressEvery: 1,
});

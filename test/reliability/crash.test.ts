// CI subset: the built daemon killed with SIGKILL mid-download, mid-push, during cache population,
// during VEX publication and at seeded random moments; checked at the crash and after a restart.
// RELIABILITY_CRASH_RUNS / RELIABILITY_SEED / RELIABILITY_VERBOSE override.
import { defineCrashSuite } from './lib/define-suite.js';
import { envInt } from './lib/params.js';

defineCrashSuite({
  title: 'reliability: SIGKILL at targeted and random points',
  report: 'crash',
  timeoutMs: 240_000,
  // a layer big enough that a kill lands inside its transfer (about 100 KiB compressed, sent slowly)
  dbBytes: 1024 * 1024,
  runs: envInt('RELIABILITY_CRASH_RUNS', 10),
});

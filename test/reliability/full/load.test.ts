// Full load run (npm run test:reliability): 64 concurrent clients pull trivy-db:2 from the embedded
// registry and the VEX repository while new versions are synced and published.
// RELIABILITY_LOAD_CLIENTS / RELIABILITY_LOAD_SECONDS override.
import { defineLoadSuite } from '../lib/define-suite.js';
import { envInt } from '../lib/params.js';

defineLoadSuite({
  title: 'reliability (full): load while syncing and publishing',
  report: 'load-full',
  timeoutMs: 10 * 60_000,
  dbBytes: 4 * 1024 * 1024,
  clients: envInt('RELIABILITY_LOAD_CLIENTS', 64),
  seconds: envInt('RELIABILITY_LOAD_SECONDS', 45),
  publishEveryMs: 2000,
});

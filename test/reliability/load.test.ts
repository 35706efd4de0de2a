// CI subset of the load run: concurrent clients pull trivy-db:2 from the embedded registry and the
// VEX repository from the serving listener while new versions are synced and published underneath.
// The full run (test/reliability/full/load.test.ts) uses 64 clients for longer.
// RELIABILITY_LOAD_CLIENTS / RELIABILITY_LOAD_SECONDS override.
import { defineLoadSuite } from './lib/define-suite.js';
import { envInt } from './lib/params.js';

defineLoadSuite({
  title: 'reliability: load while syncing and publishing',
  report: 'load',
  timeoutMs: 180_000,
  dbBytes: 1024 * 1024,
  clients: envInt('RELIABILITY_LOAD_CLIENTS', 16),
  seconds: envInt('RELIABILITY_LOAD_SECONDS', 8),
  publishEveryMs: 1000,
});

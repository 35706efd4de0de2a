// Two daemons (an HA pair) feeding one destination at once; the full 20 rounds run in
// test/reliability/full/ha-pair.test.ts.
import { defineHaPairSuite } from './helpers/ha-pair-suite.js';

defineHaPairSuite({ title: 'HA pair: two daemons, one destination (e2e)', rounds: 20, timeoutMs: 240_000 });

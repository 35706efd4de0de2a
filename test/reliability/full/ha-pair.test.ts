// Full HA-pair run (npm run test:reliability): two daemons, one destination, 40 rounds of 4 MiB
// databases (the CI file runs 20 rounds of 1 MiB). RELIABILITY_HA_ROUNDS overrides.
import { defineHaPairSuite } from '../../helpers/ha-pair-suite.js';
import { envInt } from '../lib/params.js';

defineHaPairSuite({
  title: 'reliability (full): HA pair, two daemons feeding one destination',
  rounds: envInt('RELIABILITY_HA_ROUNDS', 40),
  dbBytes: 4 * 1024 * 1024,
  timeoutMs: 15 * 60_000,
});

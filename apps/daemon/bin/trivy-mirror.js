#!/usr/bin/env node
// trivy-mirror CLI entry: runs the built app (npm run build first). For `run`, a stand-in /healthz
// listens before the app's modules load, so health probes answer within moments of the start.
import { youngGenerationGrow, youngGenerationHold } from '@trivy-mirror/runtime/young-generation';
import { closeEarlyHealth, startEarlyHealth } from '../dist/early-health.js';

// The young generation (see @trivy-mirror/runtime/young-generation): the daemon keeps it at its
// initial 2 x 1 MiB while idle (~20 MB less RSS) and lets it grow while jobs run; a one-shot command
// (copy, sync, populate…) moves data from the start, so it may grow to its working size at once.
const command = process.argv.slice(2).find((a) => !a.startsWith('-'));
if (command === 'run' || command === 'demo') youngGenerationHold();
else youngGenerationGrow();

// `trivy-mirror status | head`: a closed pipe is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

await startEarlyHealth(process.argv);
const { main } = await import('../dist/main.js').catch(async (err) => {
  await closeEarlyHealth();
  throw err;
});

main(process.argv)
  .then(
    (code) => {
      if (typeof code === 'number') process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`trivy-mirror: ${err?.message ?? err}\n`);
      process.exitCode = 1;
    },
  )
  // A usage error never reaches the run action: the stand-in must not keep the process alive.
  .finally(() => closeEarlyHealth());

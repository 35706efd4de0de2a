#!/usr/bin/env node
// trivy-mirror CLI entry: runs the built app (npm run build first). For `run`, a stand-in /healthz
// listens before the app's modules load, so health probes answer within moments of the start.
import { closeEarlyHealth, startEarlyHealth } from '../dist/early-health.js';

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

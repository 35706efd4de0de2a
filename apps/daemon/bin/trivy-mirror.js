#!/usr/bin/env node
// trivy-mirror CLI entry: runs the built app (npm run build first). For `run`, a stand-in /healthz
// listens before the app's modules load, so health probes answer within moments of the start.
import { setFlagsFromString } from 'node:v8';
import { closeEarlyHealth, startEarlyHealth } from '../dist/early-health.js';

// The young generation: V8 starts it at 2 x 1 MiB and doubles it (up to 2 x 16 MiB) while start-up
// allocates, and only shrinks it again when its memory reducer runs, many seconds later. Keeping it at
// its initial size cuts RSS by ~20 MB for the daemon and ~16 MB for copy/sync (scavenges come sooner,
// so spent stream Buffers are released sooner); the extra scavenges are cheap (bulk data lives in
// Buffers, outside the JS heap). --max-semi-space-size cannot change once the heap exists, but the
// growth factor is read at each resize, so it can be set here.
setFlagsFromString('--semi-space-growth-factor=1');

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

// What runs before the CLI proper, shared by bin/trivy-mirror.js and the single executable: young
// generation sizing, EPIPE, and for `run` a stand-in /healthz that listens before the app's modules
// load, so health probes answer within moments of the start. Imports only node built-ins and these.
import { youngGenerationGrow, youngGenerationHold } from '@trivy-mirror/runtime/young-generation';
import { closeEarlyHealth, letStandInAnswer, startEarlyHealth } from './early-health.js';

type Main = (argv: string[]) => Promise<number>;

/** Runs the CLI with `loadMain` (imported after the stand-in listens); sets process.exitCode. */
export async function startCli(argv: string[], loadMain: () => Promise<{ main: Main }>): Promise<void> {
  // The young generation (see @trivy-mirror/runtime/young-generation): the daemon keeps it at its
  // initial 2 x 1 MiB while idle (~20 MB less RSS) and lets it grow while jobs run; a one-shot command
  // (copy, sync, populate…) moves data from the start, so it may grow to its working size at once.
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  if (command === 'run' || command === 'demo') youngGenerationHold();
  else youngGenerationGrow();

  // `trivy-mirror status | head`: a closed pipe is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });

  if (await startEarlyHealth(argv)) await letStandInAnswer();
  try {
    const { main } = await loadMain();
    const code = await main(argv);
    if (typeof code === 'number') process.exitCode = code;
  } catch (err) {
    process.stderr.write(`trivy-mirror: ${(err as Error)?.message ?? err}\n`);
    process.exitCode = 1;
  } finally {
    // A usage error never reaches the run action: the stand-in must not keep the process alive.
    await closeEarlyHealth();
  }
}

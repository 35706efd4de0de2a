// What runs before the CLI proper, shared by bin/trivy-mirror.js and the single executable: young
// generation sizing, EPIPE, and for `run` a stand-in /healthz that listens before the app's modules
// load, so health probes answer within moments of the start. Imports only node built-ins and these.
import { closeEarlyHealth, letStandInAnswer, startEarlyHealth } from './admin/early-health.js';

type Main = (argv: string[]) => Promise<number>;

/** One-shot commands that stream blobs. */
const MOVES_DATA = new Set(['sync', 'copy', 'populate', 'export', 'import', 'publish']);

/** Runs the CLI with `loadMain` (imported after the stand-in listens); sets process.exitCode. */
export async function startCli(argv: string[], loadMain: () => Promise<{ main: Main }>): Promise<void> {
  if (await startEarlyHealth(argv)) await letStandInAnswer();

  // `trivy-mirror status | head`: a closed pipe is not an error worth a stack trace. (After the
  // stand-in: making process.stdout loads node's stream modules, a few ms.)
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });

  // The young generation (see @trivy-mirror/runtime/young-generation): the daemon keeps it at its
  // initial 2 x 1 MiB while idle (~20 MB less RSS) and lets it grow while jobs run; a one-shot command
  // that moves data (copy, sync, populate…) may grow it to its working size at once. The rest (help,
  // status, config…) move none and skip it: its v8 and perf_hooks modules cost start-up time.
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  if (command && (MOVES_DATA.has(command) || command === 'run' || command === 'demo')) {
    const young = await import('@trivy-mirror/runtime/young-generation');
    if (command === 'run' || command === 'demo') young.youngGenerationHold();
    else young.youngGenerationGrow();
  }
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

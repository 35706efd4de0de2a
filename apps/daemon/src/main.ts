// trivy-mirror CLI: composes the commands; behaviour lives in the packages.
import { Command, CommanderError } from 'commander';
import { CliExit, exitState, formatCliError } from './cli-output.js';
import { registerClientConfigCommand } from './commands/client-config-command.js';
import { registerConfigCommands } from './commands/config-commands.js';
import { registerCopyCommand } from './commands/copy-command.js';
import { registerDemoCommand } from './commands/demo-command.js';
import { registerPopulateCommand } from './commands/populate-command.js';
import { registerRunCommand } from './commands/run-command.js';
import { registerStatusCommand } from './commands/status-command.js';
import { registerSyncCommand } from './commands/sync-command.js';
import { registerTransferCommands } from './commands/transfer-commands.js';
import { version } from './version.js';

export function buildProgram(): Command {
  const program = new Command('trivy-mirror')
    .version(version)
    .description(
      "Keeps Trivy's databases, checks bundle and VEX Hub inside a private network: syncs them into a local " +
        'store and on into private registries, fills Trivy cache dirs for offline hosts, and serves it all ' +
        'read-only with health, status and metrics.',
    )
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerRunCommand(program);
  registerSyncCommand(program);
  registerCopyCommand(program);
  registerPopulateCommand(program);
  registerTransferCommands(program);
  registerStatusCommand(program);
  registerConfigCommands(program);
  registerClientConfigCommand(program);
  registerDemoCommand(program);
  program.addHelpText(
    'after',
    `
Config: --config FILE, else $TRIVY_MIRROR_CONFIG, else /etc/trivy-mirror/config.yaml; without a file the
defaults mirror the official sources. See \`trivy-mirror config example\`.
Try it offline: trivy-mirror demo`,
  );
  return program;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return exitState.code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliExit) {
      if (err.message) process.stderr.write(`${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`trivy-mirror: ${formatCliError(err)}\n`);
    return 1;
  }
}

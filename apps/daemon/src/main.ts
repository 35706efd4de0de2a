// trivy-mirror CLI: composes the commands; behaviour lives in the packages.
import { Command, CommanderError } from 'commander';
import { CliExit, exitState, formatCliError } from './output/cli-output.js';
import { version } from './version.js';

// Each command's module is imported only when that command runs, so `copy` or `status` do not pay for
// loading the runtime and every plugin (start-up time and memory). Help and unknown commands load all.
type Register = (program: Command) => void;
const commands: Record<string, () => Promise<Register>> = {
  run: () => import('./commands/run-command.js').then((m) => m.registerRunCommand),
  sync: () => import('./commands/sync-command.js').then((m) => m.registerSyncCommand),
  copy: () => import('./commands/copy-command.js').then((m) => m.registerCopyCommand),
  populate: () => import('./commands/populate-command.js').then((m) => m.registerPopulateCommand),
  export: () => import('./commands/transfer-commands.js').then((m) => m.registerTransferCommands),
  import: () => import('./commands/transfer-commands.js').then((m) => m.registerTransferCommands),
  publish: () => import('./commands/publish-command.js').then((m) => m.registerPublishCommand),
  status: () => import('./commands/status-command.js').then((m) => m.registerStatusCommand),
  store: () => import('./commands/store-commands.js').then((m) => m.registerStoreCommands),
  config: () => import('./commands/config-commands.js').then((m) => m.registerConfigCommands),
  doctor: () => import('./commands/doctor-command.js').then((m) => m.registerDoctorCommand),
  'client-config': () =>
    import('./commands/client-config-command.js').then((m) => m.registerClientConfigCommand),
  demo: () => import('./commands/demo-command.js').then((m) => m.registerDemoCommand),
  completion: () => import('./commands/completion-command.js').then((m) => m.registerCompletionCommand),
};

export async function buildProgram(commandName?: string): Promise<Command> {
  const program = new Command('trivy-mirror')
    .version(version)
    .description(
      "Keeps Trivy's databases, checks bundle and VEX Hub inside a private network: syncs them into a local " +
        'store and on into private registries, fills Trivy cache dirs for offline hosts, and serves it all ' +
        'read-only with health, status and metrics.',
    )
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  const versionOnly = commandName === '--version' || commandName === '-V';
  // `completion` describes every command, so it gets the whole tree (and needs no import of this file)
  const single = commandName && commandName !== 'completion' ? commands[commandName] : undefined;
  const wanted = versionOnly ? [] : single ? [single] : unique(Object.values(commands));
  for (const load of wanted) (await load())(program);
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
  const program = await buildProgram(argv[2]);
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

function unique(loaders: (() => Promise<Register>)[]): (() => Promise<Register>)[] {
  // export and import share a module: register it once.
  return loaders.filter((l) => l !== commands.import);
}

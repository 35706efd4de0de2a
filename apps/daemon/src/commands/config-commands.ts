// `trivy-mirror config check|schema|example`.
import type { ExternalPluginSchema } from '@trivy-mirror/runtime';
import type { Command } from 'commander';
import { exitWith } from '../cli-output.js';
import { builtins, cliLogger, loadCliConfig } from '../cli-context.js';

// The runtime loads when a subcommand runs, not to describe them (start-up of `--help`).
const runtimeModule = () => import('@trivy-mirror/runtime');

export function registerConfigCommands(program: Command): void {
  const config = program
    .command('config')
    .description('validate the config, print its JSON Schema, or an annotated example');
  config
    .command('check')
    .description(
      'validate a config file and every plugin it names (errors name the YAML path and line), and check what start-up needs: secret files, env vars, htpasswd',
    )
    .option(
      '-c, --config <file>',
      'config file (default: $TRIVY_MIRROR_CONFIG, else /etc/trivy-mirror/config.yaml)',
    )
    .action(
      exitWith(async (opts: { config?: string }) => {
        const { loaded, plugins } = await loadConfigAndPlugins(opts.config);
        for (const w of loaded.warnings) process.stdout.write(`warning: ${w}\n`);
        // What `run` checks at start-up beyond the schema: secrets readable, env vars set, htpasswd valid.
        const { checkPlugins } = await runtimeModule();
        const problems = await checkPlugins({
          config: loaded.config,
          plugins,
          logger: await cliLogger({ quiet: true }),
        });
        if (problems.length > 0) {
          const where = loaded.source === 'defaults' ? 'the defaults' : loaded.source;
          process.stderr.write(
            `trivy-mirror: ${where}: the schema is valid, but start-up would fail:\n${problems
              .map((p) => `  - ${p.path ? `${p.path}: ` : `${p.plugin}: `}${p.message}`)
              .join('\n')}\n`,
          );
          return 1;
        }
        process.stdout.write(
          `${loaded.source === 'defaults' ? 'no config file: the defaults are valid' : `${loaded.source}: valid`} (plugins: ${plugins.map((p) => p.definition.id).join(', ')})\n`,
        );
        return 0;
      }),
    );
  config
    .command('schema')
    .description(
      'print the JSON Schema of the config file (for editors: yaml-language-server); with --config, the options of the external plugins it names are described too',
    )
    .option('-c, --config <file>', 'a config whose plugins.external modules are loaded for their schemas')
    .action(
      exitWith(async (opts: { config?: string }) => {
        const external: ExternalPluginSchema[] = [];
        if (opts.config) {
          const { plugins } = await loadConfigAndPlugins(opts.config);
          for (const p of plugins) {
            if (p.source !== 'builtin') external.push({ module: p.source, definition: p.definition });
          }
        }
        const { configJsonSchema } = await runtimeModule();
        process.stdout.write(`${JSON.stringify(configJsonSchema(await builtins(), external), null, 2)}\n`);
      }),
    );
  config
    .command('example')
    .description('print an annotated example config')
    .action(
      exitWith(async () => {
        const { configExample } = await runtimeModule();
        process.stdout.write(`${configExample(await builtins())}\n`);
      }),
    );
}

/** The config file and every plugin it names (built-in and external), validated. */
async function loadConfigAndPlugins(path: string | undefined) {
  const loaded = await loadCliConfig(path);
  const { loadPlugins } = await runtimeModule();
  const plugins = await loadPlugins({
    builtins: await builtins(),
    baseDir: loaded.baseDir,
    config: loaded.config,
    locate: loaded.locate,
  });
  return { loaded, plugins };
}

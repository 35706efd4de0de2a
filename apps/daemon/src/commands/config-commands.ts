// `trivy-mirror config check|schema|example`.
import {
  checkPlugins,
  configExample,
  configJsonSchema,
  type ExternalPluginSchema,
  loadPlugins,
} from '@trivy-mirror/runtime';
import type { Command } from 'commander';
import { exitWith } from '../cli-output.js';
import { builtinPlugins } from '../builtins.js';
import { cliLogger, loadCliConfig } from '../cli-context.js';

export function registerConfigCommands(program: Command): void {
  const config = program
    .command('config')
    .description('validate the config, print its JSON Schema, or an annotated example')
    .addHelpText(
      'after',
      `
Examples:
  trivy-mirror config example > config.yaml
  trivy-mirror config check --config config.yaml
  trivy-mirror config schema > trivy-mirror.schema.json   # for yaml-language-server`,
    );
  config
    .command('check')
    .description(
      'validate a config file and every plugin it names (errors name the YAML path and line), and check what start-up needs: secret files, env vars, htpasswd',
    )
    .option(
      '-c, --config <file>',
      'config file (default: $TRIVY_MIRROR_CONFIG, else /etc/trivy-mirror/config.yaml)',
    )
    .addHelpText(
      'after',
      `
Exit code 0 when valid, 1 with every problem listed (YAML path and line) otherwise.

Examples:
  trivy-mirror config check --config /etc/trivy-mirror/config.yaml
  TRIVY_MIRROR_CONFIG=./config.yaml trivy-mirror config check`,
    )
    .action(
      exitWith(async (opts: { config?: string }) => {
        const { loaded, plugins } = await loadConfigAndPlugins(opts.config);
        for (const w of loaded.warnings) process.stdout.write(`warning: ${w}\n`);
        // What `run` checks at start-up beyond the schema: secrets readable, env vars set, htpasswd valid.
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
    .addHelpText(
      'after',
      `
Examples:
  trivy-mirror config schema > trivy-mirror.schema.json
  # then in config.yaml:  # yaml-language-server: $schema=./trivy-mirror.schema.json`,
    )
    .action(
      exitWith(async (opts: { config?: string }) => {
        const external: ExternalPluginSchema[] = [];
        if (opts.config) {
          const { plugins } = await loadConfigAndPlugins(opts.config);
          for (const p of plugins) {
            if (p.source !== 'builtin') external.push({ module: p.source, definition: p.definition });
          }
        }
        process.stdout.write(`${JSON.stringify(configJsonSchema(builtinPlugins, external), null, 2)}\n`);
      }),
    );
  config
    .command('example')
    .description('print an annotated example config')
    .addHelpText(
      'after',
      `
Examples:
  trivy-mirror config example > /etc/trivy-mirror/config.yaml`,
    )
    .action(
      exitWith(() => {
        process.stdout.write(`${configExample(builtinPlugins)}\n`);
      }),
    );
}

/** The config file and every plugin it names (built-in and external), validated. */
async function loadConfigAndPlugins(path: string | undefined) {
  const loaded = await loadCliConfig(path);
  const plugins = await loadPlugins({
    builtins: builtinPlugins,
    baseDir: loaded.baseDir,
    config: loaded.config,
    locate: loaded.locate,
  });
  return { loaded, plugins };
}

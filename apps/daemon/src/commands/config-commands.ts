// `trivy-mirror config check|schema|example`.
import type { ExternalPluginSchema } from '@trivy-mirror/runtime';
import { type Command, Option } from 'commander';
import { exitWith } from '../output/cli-output.js';
import { CONFIG_PROFILES, configProfile, DEFAULT_PROFILE } from '../command-helpers/config-profiles.js';
import { builtins, cliLogger, loadCliConfig } from '../command-helpers/cli-context.js';

// The runtime loads when a subcommand runs, not to describe them (start-up of `--help`).
const runtimeModule = () => import('@trivy-mirror/runtime');

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
      'validate a config file and every plugin it names (errors name the YAML path and line), and check what start-up needs: listen addresses, state and cache dirs, TLS files, secret files, env vars, htpasswd, job schedules',
    )
    .addHelpText(
      'after',
      `
Exit 0: \`run\` (and a SIGHUP reload) would accept it; warnings (e.g. a config that does nothing) do not fail.
Exit 1: every problem, each with its YAML path and line. Not checked: whether a listen port is free.
--online also probes every source, destination and VEX URL through the configured proxy and trust, one
line per host (DNS, TCP, proxy, TLS issuer, /v2/, token auth, rate limit); exit 1 names the first failed layer.
\`trivy-mirror doctor\` is the same as \`config check --online\`; the status page's button runs the same probe.

Examples:
  trivy-mirror config check --config /etc/trivy-mirror/config.yaml
  TRIVY_MIRROR_CONFIG=./config.yaml trivy-mirror config check
  trivy-mirror config example --profile inside > config.yaml && trivy-mirror config check --config config.yaml
  HTTPS_PROXY=http://proxy.corp:3128 trivy-mirror config check --online`,
    )
    .option(
      '-c, --config <file>',
      'config file (default: $TRIVY_MIRROR_CONFIG, else /etc/trivy-mirror/config.yaml)',
    )
    .option('--online', 'also probe every configured host through the proxy and trust (a network self-check)')
    .action(exitWith(checkConfig));
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
        const { configJsonSchema } = await runtimeModule();
        process.stdout.write(`${JSON.stringify(configJsonSchema(await builtins(), external), null, 2)}\n`);
      }),
    );
  config
    .command('example')
    .description('print an annotated example config for a deployment profile (each passes `config check`)')
    .addOption(
      new Option('-p, --profile <name>', 'the kind of host')
        .choices(CONFIG_PROFILES.map((p) => p.name))
        .default(DEFAULT_PROFILE),
    )
    .addHelpText(
      'after',
      `\nProfiles:\n${CONFIG_PROFILES.map((p) => `  ${p.name.padEnd(11)} ${p.summary}`).join('\n')}

Examples:
  trivy-mirror config example > /etc/trivy-mirror/config.yaml
  trivy-mirror config example --profile inside > /etc/trivy-mirror/config.yaml`,
    )
    .action(
      exitWith(async (opts: { profile: string }) => {
        const { configExample } = await runtimeModule();
        process.stdout.write(`${configExample(await builtins(), configProfile(opts.profile))}\n`);
      }),
    );
}

/** `config check [--online]` (and `doctor`, which is `config check --online`); resolves with the exit code. */
export async function checkConfig(opts: { config?: string; online?: boolean }): Promise<number> {
  const { loaded, plugins } = await loadConfigAndPlugins(opts.config);
  const { checkPlugins, formatConfigProblem, idleConfigWarning, pluginListing } = await runtimeModule();
  const idle = idleConfigWarning(plugins);
  for (const w of [...loaded.warnings, ...(idle ? [idle] : [])]) process.stdout.write(`warning: ${w}\n`);
  // What `run` checks at start-up beyond the schema: secrets readable, env vars set, htpasswd valid.
  const problems = await checkPlugins({
    config: loaded.config,
    plugins,
    logger: await cliLogger({ quiet: true }),
    locate: loaded.locate,
  });
  if (problems.length > 0) {
    const where = loaded.source === 'defaults' ? 'the defaults' : loaded.source;
    process.stderr.write(
      `trivy-mirror: ${where}: the schema is valid, but start-up would fail:\n${problems
        .map((p) => `  - ${formatConfigProblem(p)}`)
        .join('\n')}\n`,
    );
    return 1;
  }
  const disabled = pluginListing(loaded.config).filter((p) => !p.enabled);
  const off = disabled.length > 0 ? `; disabled: ${disabled.map((p) => p.id).join(', ')}` : '';
  process.stdout.write(
    `${loaded.source === 'defaults' ? 'no config file: the defaults are valid' : `${loaded.source}: valid`} (plugins: ${plugins.map((p) => p.definition.id).join(', ') || 'none'}${off})\n`,
  );
  return opts.online ? networkCheck(opts.config, loaded) : 0;
}

/** `--online`: one line per host; exit 1 naming the first host and layer that failed. */
async function networkCheck(
  path: string | undefined,
  loaded: Awaited<ReturnType<typeof loadCliConfig>>,
): Promise<number> {
  const { onlineCheck } = await import('../command-helpers/online-check.js');
  const { formatHostProbe } = await runtimeModule();
  const probes = await onlineCheck(path, loaded);
  for (const p of probes) process.stdout.write(`${formatHostProbe(p)}\n`);
  const failed = probes.find((p) => p.failed);
  if (!failed?.failed) {
    process.stdout.write(`network: ${probes.length} host(s) reachable\n`);
    return 0;
  }
  process.stderr.write(
    `trivy-mirror: network check failed: ${failed.target}: ${failed.failed.layer}: ${failed.failed.detail}\n`,
  );
  return 1;
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

// `trivy-mirror doctor`: an alias of `config check --online` — the config checked as `run` would, then
// every configured source, destination and VEX host probed through the proxy and trust.
import type { Command } from 'commander';
import { exitWith } from '../output/cli-output.js';
import { checkConfig } from './config-commands.js';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'check the config and probe every configured host through the proxy and trust (an alias of `config check --online`)',
    )
    .option(
      '-c, --config <file>',
      'config file (default: $TRIVY_MIRROR_CONFIG, else /etc/trivy-mirror/config.yaml)',
    )
    .addHelpText(
      'after',
      `
The same as \`trivy-mirror config check --online\`: the config is checked as \`run\` would check it, then
each source, destination and VEX host is probed layer by layer (DNS, TCP, proxy, TLS issuer, /v2/, token
auth, rate limit), one line per host. The status page's "Run the network self-check" button runs the
same probe inside the daemon (POST /network/probe on the admin listener).

Exit code 0 when the config is valid and every host answers, 1 naming the first problem otherwise.

Examples:
  trivy-mirror doctor --config /etc/trivy-mirror/config.yaml
  HTTPS_PROXY=http://proxy.corp:3128 trivy-mirror doctor`,
    )
    .action(exitWith((opts: { config?: string }) => checkConfig({ config: opts.config, online: true })));
}

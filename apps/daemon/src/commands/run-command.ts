// `trivy-mirror run`: the daemon (what systemd starts).
import type { Command } from 'commander';
import { exitWith } from '../output/cli-output.js';
import { builtins } from '../command-helpers/cli-context.js';
import { closeEarlyHealth, letStandInAnswer } from '../admin/early-health.js';
import { version } from '../version.js';

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(
      'run the daemon: sync on schedule, populate cache dirs, mirror VEX, serve (what systemd starts)',
    )
    .option(
      '-c, --config <file>',
      'config file (default: $TRIVY_MIRROR_CONFIG, else /etc/trivy-mirror/config.yaml)',
    )
    .addHelpText(
      'after',
      `
Without a config file the defaults mirror the official sources into /var/lib/trivy-mirror.
Admin endpoints (127.0.0.1:9180 by default): / (status page) /healthz /readyz /status /metrics,
POST /jobs/NAME/run, POST /network/probe (the network self-check of \`trivy-mirror doctor\`).
Signals: SIGTERM/SIGINT stop gracefully (exit 0 within 10 s); SIGHUP reloads the config (an invalid
config is logged and the running one kept).
Logs: JSON lines on stdout (journald), pretty on a terminal; set log.level or TRIVY_MIRROR_LOG_LEVEL.

Examples:
  trivy-mirror run --config /etc/trivy-mirror/config.yaml
  TRIVY_MIRROR_ADMIN_LISTEN=127.0.0.1:9181 trivy-mirror run --config ./config.yaml
  systemctl start trivy-mirror            # deploy/systemd/trivy-mirror.service runs this command
  trivy-mirror status                     # what the running daemon holds (from another shell)`,
    )
    .action(
      exitWith(async (opts: { config?: string }) => {
        // The stand-in /healthz (early-health.ts) answers between turns: the heaviest dependencies load
        // one per turn (each 10-100 ms here), then it hands the admin address over to the runtime.
        // A first turn before any: a probe that came while the CLI itself loaded is answered now.
        await letStandInAnswer();
        for (const load of [
          () => import('zod'),
          () => import('inversify'),
          () => import('@trivy-mirror/oci'),
        ]) {
          await load();
          await letStandInAnswer();
        }
        const { runDaemon } = await import('@trivy-mirror/runtime');
        await letStandInAnswer();
        const plugins = await builtins();
        await letStandInAnswer();
        await closeEarlyHealth();
        return runDaemon({ configPath: opts.config, builtins: plugins, version, mode: 'daemon' });
      }),
    );
}

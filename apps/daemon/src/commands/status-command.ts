// `trivy-mirror status`: what the running daemon holds, from its admin endpoint, headed by the verdict
// /status carries (the status page's too: READY, SYNCING, STALE, FAILING), whose code it exits with. It
// loads neither the runtime (only its small verdict module) nor the plugins: admin.listen is read straight from the config (see admin-address.ts), and
// the request goes through node:http (admin-get.ts), so "no daemon answering" comes back in a fraction of a second.
import { MirrorError } from '@trivy-mirror/plugin-api/errors';
import {
  type StatusVerdict,
  statusVerdict,
  VERDICTS,
  type VerdictState,
  verdictExitCode,
} from '@trivy-mirror/runtime/status-verdict';
import type { Command } from 'commander';
import { adminGet } from '../admin/admin-get.js';
import { DEFAULT_ADMIN_LISTEN, DEFAULT_CONFIG_PATH, quickAdminListen } from '../admin/admin-address.js';
import { formatAge, exitWith } from '../output/cli-output.js';
import { clientsTable, componentTables, networkTable } from '../output/status-tables.js';

interface StatusJob {
  id: string;
  schedule?: string;
  nextRun?: string;
  running?: boolean;
  lastRun?: {
    status: string;
    endedAt?: string;
    startedAt: string;
    summary?: string;
    error?: { message: string };
  };
}

/** How long a daemon that accepted the connection may take to answer /status. */
const ANSWER_TIMEOUT_MS = 5000;

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'show what the running daemon holds: versions, ages, last runs, errors (from its admin endpoint)',
    )
    .option('-c, --config <file>', 'config naming admin.listen')
    .option(
      '--admin <url>',
      `admin base URL (default: http://<admin.listen>, i.e. http://${DEFAULT_ADMIN_LISTEN})`,
    )
    .option('--json', 'print /status as JSON (everything, for scripts)')
    .addHelpText(
      'after',
      `
The headline is the verdict the status page shows, with its reasons; the exit code says which:
${exitCodes()}
  1  no daemon answers at the admin URL, or its answer is not a /status document
With --json: 0 whenever the daemon answers; read .verdict.state (and .ready: serving clients).

Examples:
  trivy-mirror status
  trivy-mirror status --config /etc/trivy-mirror/config.yaml
  trivy-mirror status --json | jq '.components["oci-sync"].artifacts'`,
    )
    .action(
      exitWith(async (opts: { config?: string; admin?: string; json?: boolean }) => {
        const base = (opts.admin ?? `http://${await adminListen(opts.config)}`).replace(/\/+$/, '');
        let body: Record<string, unknown>;
        try {
          body = (await getJson(`${base}/status`)) as Record<string, unknown>;
        } catch (err) {
          throw new MirrorError(
            'DAEMON_UNREACHABLE',
            `no daemon answering at ${base} (is \`trivy-mirror run\` running? --admin URL)`,
            {
              cause: err,
            },
          );
        }
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
          return 0;
        }
        const verdict = verdictOf(body);
        process.stdout.write(humanStatus(body, verdict));
        return verdictExitCode(verdict.state);
      }),
    );
}

/** admin.listen, quickly when possible; a config the quick reader cannot follow is loaded fully. */
async function adminListen(configPath: string | undefined): Promise<string> {
  const env = process.env;
  const quick = quickAdminListen(configPath ?? (env.TRIVY_MIRROR_CONFIG || DEFAULT_CONFIG_PATH), env, true);
  const listen =
    quick ??
    (await (await import('../command-helpers/cli-context.js')).loadCliConfig(configPath)).config.admin.listen;
  // a wildcard listener is reached on loopback
  return listen.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
}

async function getJson(url: string): Promise<unknown> {
  const { status, text } = await adminGet(url, ANSWER_TIMEOUT_MS);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MirrorError('STATUS_INVALID', `${url} answered HTTP ${status} without a JSON body`, {
      cause: err,
    });
  }
}

/** `  0  READY    serving …` per verdict, best first, the meanings wrapped at 100 columns. */
function exitCodes(): string {
  const indent = ' '.repeat(14);
  return Object.values(VERDICTS)
    .map((v) => {
      const lines = [`  ${v.exitCode}  ${v.word.padEnd(8)}`];
      for (const word of v.meaning.split(' ')) {
        const last = lines.length - 1;
        if (`${lines[last]} ${word}`.length > 100) lines.push(`${indent}${word}`);
        else lines[last] = `${lines[last]} ${word}`;
      }
      return lines.join('\n');
    })
    .join('\n');
}

/** The daemon's verdict; a daemon too old to send one is judged here by the same function. */
function verdictOf(body: Record<string, unknown>): StatusVerdict {
  const v = body.verdict as Partial<StatusVerdict> | undefined;
  if (v && typeof v.state === 'string' && v.state in VERDICTS && Array.isArray(v.reasons)) {
    const state = v.state as VerdictState;
    return { ...VERDICTS[state], state, reasons: v.reasons.map(String) };
  }
  const report = { jobs: [], reasons: [], components: {}, ...body };
  return statusVerdict(report as unknown as Parameters<typeof statusVerdict>[0], new Date());
}

function humanStatus(body: Record<string, unknown>, verdict: StatusVerdict): string {
  const serving = body.ready === true ? 'ready for clients' : 'not ready for clients';
  let out = `trivy-mirror ${body.version ?? ''}  ${verdict.word}  up ${body.uptimeSeconds ?? '?'}s  (${serving})\n`;
  for (const r of verdict.reasons) out += `  ${r}\n`;
  const components = (body.components as Record<string, Record<string, unknown>> | undefined) ?? {};
  const ociWarnings = components['oci-sync']?.warnings;
  for (const w of Array.isArray(ociWarnings) ? ociWarnings : []) out += `  warning: ${w}\n`;
  out += pluginLine(body.plugins);
  out += '\njobs\n';
  for (const j of (body.jobs as StatusJob[] | undefined) ?? []) {
    const last = j.lastRun;
    const lastTxt = last
      ? `${last.status} ${formatAge(last.endedAt ?? last.startedAt)}${last.error ? `: ${last.error.message}` : last.summary ? `: ${last.summary}` : ''}`
      : 'never ran';
    out += `  ${j.id.padEnd(16)} ${j.running ? 'running ' : ''}next ${j.nextRun ? formatAge(j.nextRun) : '-'}  last ${lastTxt}\n`;
  }
  out += componentTables(components);
  out += clientsTable(body.clients);
  out += networkTable(body.network);
  return `${out}\n(--json for every detail)\n`;
}

/** `plugins  auth-providers, oci-sync  (disabled: cache-populator)` */
function pluginLine(plugins: unknown): string {
  const list = Array.isArray(plugins) ? (plugins as { id: string; enabled: boolean }[]) : [];
  if (list.length === 0) return '';
  const on = list.filter((p) => p.enabled).map((p) => p.id);
  const off = list.filter((p) => !p.enabled).map((p) => p.id);
  return `plugins  ${on.join(', ') || 'none'}${off.length > 0 ? `  (disabled: ${off.join(', ')})` : ''}\n`;
}

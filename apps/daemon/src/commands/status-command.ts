// `trivy-mirror status`: what the running daemon holds, from its admin endpoint.
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH, quickAdminListen } from '../admin-address.js';
import { getText } from '../admin-get.js';
import { loadCliConfig } from '../cli-context.js';
import { formatAge, exitWith } from '../cli-output.js';

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

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'show what the running daemon holds: versions, ages, last runs, errors (from its admin endpoint)',
    )
    .option('-c, --config <file>', 'config naming admin.listen')
    .option('--admin <url>', 'admin base URL (default: http://<admin.listen>)')
    .option('--json', 'print /status as JSON')
    .action(
      exitWith(async (opts: { config?: string; admin?: string; json?: boolean }) => {
        let base = opts.admin;
        if (!base) {
          // The address alone needs no config load (every plugin's schema): start-up time.
          const env = process.env;
          const listen = quickAdminListen(
            opts.config ?? (env.TRIVY_MIRROR_CONFIG || DEFAULT_CONFIG_PATH),
            env,
            true,
          );
          base = `http://${listen ?? (await loadCliConfig(opts.config)).config.admin.listen}`;
        }
        let text: string;
        try {
          text = await getText(`${base.replace(/\/+$/, '')}/status`, 5000);
        } catch (err) {
          throw new Error(`no daemon answering at ${base} (is \`trivy-mirror run\` running? --admin URL)`, {
            cause: err,
          });
        }
        const body = JSON.parse(text) as Record<string, unknown>;
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
          return 0;
        }
        const ready = body.ready === true;
        process.stdout.write(
          `trivy-mirror ${body.version ?? ''}  ${ready ? 'READY' : 'NOT READY'}  up ${body.uptimeSeconds ?? '?'}s\n`,
        );
        for (const r of (body.reasons as string[] | undefined) ?? [])
          process.stdout.write(`  not ready: ${r}\n`);
        process.stdout.write('\njobs\n');
        for (const j of (body.jobs as StatusJob[] | undefined) ?? []) {
          const last = j.lastRun;
          const lastTxt = last
            ? `${last.status} ${formatAge(last.endedAt ?? last.startedAt)}${last.error ? `: ${last.error.message}` : last.summary ? `: ${last.summary}` : ''}`
            : 'never ran';
          process.stdout.write(
            `  ${j.id.padEnd(16)} ${j.running ? 'running ' : ''}next ${j.nextRun ? formatAge(j.nextRun) : '-'}  last ${lastTxt}\n`,
          );
        }
        const components = (body.components as Record<string, Record<string, unknown>> | undefined) ?? {};
        process.stdout.write(versionLines(components));
        for (const [id, c] of Object.entries(components)) {
          process.stdout.write(`\n${id}\n`);
          process.stdout.write(indent(JSON.stringify(c, null, 2)));
        }
        return ready ? 0 : 3;
      }),
    );
}

function indent(text: string): string {
  return `${text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}\n`;
}

type Rec = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const short = (digest: unknown) => (str(digest) ? String(digest).slice(0, 19) : '-');

/** One line per stored version (oci-sync artifacts, VEX repositories), before the raw component details. */
function versionLines(components: Record<string, Rec>): string {
  const lines: string[] = [];
  const artifacts = (components['oci-sync']?.artifacts ?? {}) as Record<string, Rec>;
  for (const [key, a] of Object.entries(artifacts)) {
    const parts = [key.padEnd(18), a.stored ? short(a.manifestDigest) : 'not stored'];
    if (str(a.updatedAt)) parts.push(`UpdatedAt ${a.updatedAt}`);
    if (str(a.nextUpdate)) parts.push(`NextUpdate ${a.nextUpdate}`);
    if (str(a.version)) parts.push(`version ${a.version}`);
    if (str(a.lastSuccess)) parts.push(`synced ${formatAge(str(a.lastSuccess))}`);
    const err = a.lastError as { message?: string } | undefined;
    if (err?.message) parts.push(`error: ${err.message}`);
    lines.push(`  ${parts.join('  ')}`);
  }
  const repos = (components['vexhub-mirror']?.repositories ?? {}) as Record<string, Rec>;
  for (const [name, r] of Object.entries(repos)) {
    const parts = [`vex ${name}`.padEnd(18), short(r.version)];
    if (str(r.updatedAt)) parts.push(`updated_at ${r.updatedAt}`);
    if (typeof r.packages === 'number') parts.push(`${r.packages} packages`);
    if (str(r.fetchedAt)) parts.push(`checked ${formatAge(str(r.fetchedAt))}`);
    lines.push(`  ${parts.join('  ')}`);
  }
  return lines.length > 0 ? `\nversions\n${lines.join('\n')}\n` : '';
}

// `trivy-mirror sync`: one pass of the sync jobs without the daemon; exit 1 when any failed.
import type { JobRunRecord } from '@trivy-mirror/plugin-api';
import { printableJson, printableLine } from '@trivy-mirror/plugin-api/terminal-text';
import type { Command } from 'commander';
import { cliLogger, startCliRuntime } from '../command-helpers/cli-context.js';
import { exitWith, formatBytes, formatMs } from '../output/cli-output.js';
import { ProgressLine } from '../output/progress-line.js';
import { formatTable } from '../output/text-table.js';

const POPULATE_JOB = 'cache-populator';

interface SyncOpts {
  config?: string;
  only: string[];
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
  allowRollback?: boolean;
}

/** --allow-rollback: every artifact and VEX repository takes an older upstream version in this run. */
function allowRollback(config: { plugins: Record<string, unknown> }): void {
  const sections = [
    [config.plugins['oci-sync'], 'artifacts'],
    [config.plugins['vexhub-mirror'], 'repositories'],
  ] as const;
  for (const [section, key] of sections) {
    const list = (section as Record<string, unknown> | undefined)?.[key];
    if (Array.isArray(list))
      for (const item of list) (item as { allowRollback?: boolean }).allowRollback = true;
  }
}

export function registerSyncCommand(program: Command): void {
  program
    .command('sync')
    .description('run one pass of the sync jobs (oci-sync, vexhub-mirror, then cache population) and exit')
    .option(
      '-c, --config <file>',
      'config file (default: $TRIVY_MIRROR_CONFIG, else /etc/trivy-mirror/config.yaml)',
    )
    .option(
      '--only <job>',
      'run only this job (repeatable): oci-sync, vexhub-mirror, cache-populator, …',
      collect,
      [],
    )
    .option('--dry-run', 'show what would be downloaded and pushed, and how many bytes; write nothing')
    .option(
      '--allow-rollback',
      'take an upstream trivy-db/java-db (UpdatedAt) or VEX index (updated_at) older than the served one (default: refused, ROLLBACK_REFUSED)',
    )
    .option('--json', 'print the run records as JSON')
    .option('-v, --verbose', 'show progress logs on stderr')
    .addHelpText(
      'after',
      `
After the sync jobs, the cache dirs of plugins.cache-populator.targets are populated from the store
(also with --only cache-populator). Each artifact tag and each cache dir part gets a line.
Exit code 0 when every job succeeded or had nothing to do, 1 when any failed.
No silent rollback: an upstream trivy-db or java-db whose metadata.json UpdatedAt is older than the
served one's (a VEX index: updated_at) is refused (ROLLBACK_REFUSED), the store keeps the newer;
--allow-rollback takes it in this run.
Runs while a daemon is running are safe: every write is atomic and compares digests first, and the
index.json updates of the two take turns through a lock file in each layout (index.json.lock).

Examples:
  trivy-mirror sync --config /etc/trivy-mirror/config.yaml
  trivy-mirror sync --config config.yaml --only oci-sync --json | jq '.[0].details.artifacts'
  trivy-mirror sync --config config.yaml --dry-run      # what would be downloaded and pushed, and how much
  trivy-mirror sync --config config.yaml --allow-rollback   # take an older upstream db after a refusal`,
    )
    .action(
      exitWith(async (opts: SyncOpts) => {
        if (opts.dryRun) return (await import('../command-helpers/sync-dry-run.js')).syncDryRun(opts);
        const logger = await cliLogger({ verbose: opts.verbose });
        const runtime = await startCliRuntime(
          opts.config,
          logger,
          opts.allowRollback ? allowRollback : undefined,
        );
        const abort = () => void runtime.stop('SIGINT');
        process.once('SIGINT', abort);
        // Progress bars on a terminal; plain summary lines otherwise (journald, CI).
        const bar = process.stderr.isTTY && !opts.json ? new ProgressLine(process.stderr) : undefined;
        const off = bar
          ? runtime.services?.events.on('job.progress', (p) => bar.update(p.item, p.bytes, p.total))
          : undefined;
        try {
          const records = await runtime.runOnce({
            only: opts.only.length ? opts.only : undefined,
            reason: 'cli',
          });
          // The daemon populates cache dirs on artifact.stored; a one-shot sync has no event wiring,
          // so it runs population itself once the sync jobs are done (with --only, when named).
          const hasPopulator = runtime.listJobs().some((j) => j.id === POPULATE_JOB);
          if (hasPopulator && opts.only.length === 0)
            records.push(...(await runtime.runOnce({ only: [POPULATE_JOB], reason: 'cli' })));
          bar?.done();
          if (opts.json) {
            process.stdout.write(`${printableJson(JSON.stringify(records, null, 2))}\n`);
          } else {
            for (const r of records) {
              const head = `${r.status.padEnd(8)} ${r.jobId.padEnd(16)} ${formatMs(r.durationMs ?? 0).padStart(8)}`;
              const bytes = r.bytes ? `  ${formatBytes(r.bytes)}` : '';
              // messages and per-tag errors quote upstreams: one line each, control characters escaped
              const why = `  ${printableLine(recordHead(r))}`;
              process.stdout.write(`${head}${bytes}${why}\n`);
              for (const line of artifactLines(r.details)) process.stdout.write(`  ${printableLine(line)}\n`);
              for (const line of populationLines(r.details)) process.stdout.write(`  ${line}\n`);
            }
          }
          return records.some((r) => r.status === 'failure') ? 1 : 0;
        } finally {
          off?.();
          bar?.done();
          process.off('SIGINT', abort);
          await runtime.stop('sync finished');
        }
      }),
    );
}

/**
 * A job's message for its head line. When per-item lines follow (artifact tags, cache dir parts),
 * they carry each error and path, so the head line only counts.
 */
function recordHead(r: JobRunRecord): string {
  const parts = r.details?.parts;
  if (Array.isArray(parts) && parts.length > 0) {
    const by = new Map<string, number>();
    for (const p of parts as PartDetail[]) by.set(p.status ?? '?', (by.get(p.status ?? '?') ?? 0) + 1);
    return [...by].map(([status, n]) => `${n} ${status}`).join(', ');
  }
  const message = r.status === 'failure' ? (r.error?.message ?? '') : (r.summary ?? '');
  if (r.status !== 'failure' || artifactLines(r.details).length === 0) return message;
  return message.split(': ')[0]!;
}

interface ArtifactDetail {
  artifact?: string;
  tag?: string;
  ok?: boolean;
  changed?: boolean;
  source?: string;
  digest?: string;
  bytesDownloaded?: number;
  bytesPushed?: number;
  pushed?: string[];
  error?: string;
}

/** One line per artifact tag from a job's `details.artifacts` (oci-sync reports them), so the
 * operator sees what each tag did, not only the job's total. */
function artifactLines(details: Record<string, unknown> | undefined): string[] {
  const list = details?.artifacts;
  if (!Array.isArray(list)) return [];
  return (list as ArtifactDetail[])
    .filter((a) => typeof a?.artifact === 'string')
    .map((a) => {
      const name = `${a.artifact}:${a.tag ?? ''}`.padEnd(18);
      if (a.ok === false) return `${name} failed      ${a.error ?? ''}`;
      const state = (a.changed ? 'updated' : 'up to date').padEnd(11);
      const digest = a.digest ? ` ${a.digest.slice(0, 19)}` : '';
      const from = a.changed && a.source ? ` from ${a.source}` : '';
      const down = a.bytesDownloaded ? `, ${formatBytes(a.bytesDownloaded)} downloaded` : '';
      const pushed = a.pushed?.length
        ? `, pushed to ${a.pushed.length} destination(s)${a.bytesPushed ? ` (${formatBytes(a.bytesPushed)})` : ''}`
        : '';
      return `${name} ${state}${digest}${from}${down}${pushed}${a.changed || down || pushed ? '' : ', 0 B moved'}`;
    });
}

interface PartDetail {
  dir?: string;
  part?: string;
  status?: string;
  version?: string;
  bytes?: number;
  reason?: string;
}

/** One line per cache dir part from cache-populator's `details.parts`: what population did. */
function populationLines(details: Record<string, unknown> | undefined): string[] {
  const list = details?.parts;
  if (!Array.isArray(list)) return [];
  if (list.length === 0) return ['no cache dirs configured (plugins.cache-populator.targets)'];
  const rows = (list as PartDetail[]).map((p) => [
    p.dir ?? '',
    p.part ?? '',
    p.status ?? '',
    p.status === 'populated'
      ? `${formatBytes(p.bytes ?? 0)} written, ${p.version ?? ''}`
      : (p.reason ?? p.version ?? ''),
  ]);
  return formatTable(['CACHE DIR', 'PART', 'RESULT', 'DETAIL'], rows, '').trimEnd().split('\n');
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').filter(Boolean)];
}

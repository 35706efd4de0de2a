// What `populate` prints: one line per part (status, bytes, time, version or reason), then a verdict.
import type { PopulateResult } from '@trivy-mirror/cache-populator';
import { printableLine } from '@trivy-mirror/plugin-api/terminal-text';
import { formatBytes, formatMs } from './cli-output.js';

const LABEL: Record<string, string> = { planned: 'would write' };

export function printPopulateResult(
  result: PopulateResult,
  opts: { json?: boolean; dryRun?: boolean; ms: number },
): void {
  if (opts.json) {
    const parts = result.parts.map(({ error, ...rest }) => ({ ...rest, error: error?.message }));
    const body = { cacheDir: result.cacheDir, ok: result.ok, dryRun: opts.dryRun === true, parts };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  for (const p of result.parts) {
    const what = p.status === 'failed' ? (p.reason ?? p.error?.message ?? '') : (p.reason ?? p.version ?? '');
    const status = (LABEL[p.status] ?? p.status).padEnd(11);
    process.stdout.write(
      `${status} ${p.key.padEnd(8)} ${formatBytes(p.bytes).padStart(10)} ${formatMs(p.ms).padStart(8)}  ${printableLine(what)}\n`,
    );
  }
  if (opts.dryRun) {
    const planned = result.parts.filter((p) => p.status === 'planned');
    const bytes = planned.reduce((n, p) => n + p.bytes, 0);
    process.stdout.write(
      `dry run: ${planned.length} part(s) would be written to ${result.cacheDir} (${formatBytes(bytes)} of layers to read); nothing was changed\n`,
    );
    return;
  }
  const verdict = !result.ok
    ? 'failed'
    : result.parts.every((p) => p.status === 'skipped')
      ? 'nothing populated'
      : 'done';
  process.stdout.write(`${verdict}: ${result.cacheDir} in ${formatMs(opts.ms)}\n`);
}

// Aligned plain-text tables for human output (status, store ls): a header row, then one row per item;
// the last column is not padded so long messages do not leave trailing blanks.
import { printableLine } from '@trivy-mirror/plugin-api/terminal-text';

export function formatTable(headers: string[], cells: string[][], indent = '  '): string {
  // cells quote upstreams (error messages): one line each, control characters escaped
  const rows = cells.map((r) => r.map(printableLine));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `${indent}${cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()}\n`;
  return [headers, ...rows].map(line).join('');
}

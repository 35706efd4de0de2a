// Aligned plain-text tables for human output (status, store ls): a header row, then one row per item;
// the last column is not padded so long messages do not leave trailing blanks.
export function formatTable(headers: string[], rows: string[][], indent = '  '): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `${indent}${cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()}\n`;
  return [headers, ...rows].map(line).join('');
}

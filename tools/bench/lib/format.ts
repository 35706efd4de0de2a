// Human formatting of sizes, durations and ratios for the result lines.

export function formatBytes(n: number): string {
  if (n >= 0.995e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

/** Memory in MB (10^6), like the goals are written. */
export function formatMb(n: number): string {
  return `${(n / 1e6).toFixed(0)} MB`;
}

export function formatSeconds(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`;
}

export function formatRatio(r: number): string {
  return `${r.toFixed(2)}x`;
}

/** Throughput in MB/s. */
export function formatRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(0)} MB/s`;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

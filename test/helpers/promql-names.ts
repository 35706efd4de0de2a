// Metric names used in PromQL expressions (alert rules, dashboard panels), for checking them
// against what the daemon exports.
const NOT_METRICS = new Set([
  ...['sum', 'min', 'max', 'avg', 'count', 'topk', 'bottomk', 'quantile', 'stddev', 'group'],
  ...[
    'by',
    'without',
    'on',
    'ignoring',
    'group_left',
    'group_right',
    'and',
    'or',
    'unless',
    'bool',
    'offset',
  ],
  ...[
    'rate',
    'irate',
    'increase',
    'delta',
    'deriv',
    'time',
    'vector',
    'scalar',
    'absent',
    'absent_over_time',
  ],
  ...['histogram_quantile', 'clamp_min', 'clamp_max', 'abs', 'max_over_time', 'min_over_time', 'changes'],
  ...['avg_over_time', 'last_over_time', 'resets', 'timestamp', 'label_replace', 'label_join', 'sort'],
]);

/** Names of the series an expression reads (labels, functions, durations and strings removed). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = stripped.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return [...new Set(names.filter((n) => !NOT_METRICS.has(n) && !/^\d/.test(n) && !n.startsWith('$')))];
}

/** Series names a /metrics text exposes (histograms: _bucket, _sum, _count), plus `up`. */
export function exportedNames(metricsText: string): Set<string> {
  const names = new Set<string>(['up']);
  for (const line of metricsText.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m && !line.startsWith('#')) names.add(m[1]!);
  }
  return names;
}

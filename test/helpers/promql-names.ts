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

/** Label names each exported series carries, from the samples of a /metrics text. */
export function exportedLabels(metricsText: string): Map<string, Set<string>> {
  const labels = new Map<string, Set<string>>();
  for (const line of metricsText.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/.exec(line);
    if (!m) continue;
    const set = labels.get(m[1]!) ?? new Set<string>();
    for (const pair of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) set.add(pair[1]!);
    labels.set(m[1]!, set);
  }
  return labels;
}

/** Every `trivy_mirror_NAME{label=…}` a document names (queries users copy), with its label names. */
export function documentedSelectors(text: string): { name: string; labels: string[] }[] {
  const out: { name: string; labels: string[] }[] = [];
  for (const m of text.matchAll(/(?<![$\w])(trivy_mirror_[a-z0-9_]+)(?:\{([^}]*)\})?/g)) {
    if (m[1]!.endsWith('_')) continue; // `trivy_mirror_job_*`: a family, not a series
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!=|!~|=)/g)].map((l) => l[1]!);
    out.push({ name: m[1]!, labels });
  }
  return out;
}

/**
 * The README's metrics table: `name`, `name` | label, label (, label) | meaning, names given without
 * the trivy_mirror_ prefix.
 */
export function documentedTable(readme: string): { name: string; labels: string[] }[] {
  const out: { name: string; labels: string[] }[] = [];
  const start = readme.indexOf('Metrics on `/metrics`');
  if (start < 0) throw new Error('README: no "Metrics on `/metrics`" table');
  const table = readme.slice(start).split('\n\n')[1] ?? '';
  for (const line of table.split('\n')) {
    const m = /^\| (`[a-z0-9_]+`(?:, `[a-z0-9_]+`)*) \| ([^|]*) \|/.exec(line);
    if (!m) continue;
    const labels = m[2]!
      .replace(/[()]/g, '')
      .split(',')
      .map((l) => l.trim())
      .filter((l) => /^[a-z_]+$/.test(l));
    for (const n of m[1]!.matchAll(/`([a-z0-9_]+)`/g)) out.push({ name: `trivy_mirror_${n[1]}`, labels });
  }
  return out;
}

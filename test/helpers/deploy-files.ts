// The on-call files under deploy/: alert rules and the Grafana dashboard, parsed.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from './daemon-process.js';

export const rulesFile = join(repoRoot, 'deploy/prometheus/trivy-mirror.rules.yml');
export const dashboardFile = join(repoRoot, 'deploy/grafana/trivy-mirror.json');

interface Rule {
  alert: string;
  expr: string;
  annotations: Record<string, string>;
}

export async function alertRules(): Promise<Rule[]> {
  const doc = parse(await readFile(rulesFile, 'utf8')) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

export async function dashboardExprs(): Promise<string[]> {
  const dash = JSON.parse(await readFile(dashboardFile, 'utf8')) as {
    panels: { targets?: { expr: string }[] }[];
  };
  return dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

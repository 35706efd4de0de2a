// The on-call deliverables as files: the alert rules pass `promtool check rules` and their unit tests
// (every alert fires and resolves), every runbook link lands on a section of docs/runbook.md, and the
// Grafana dashboard is a valid, current dashboard with a datasource variable. Which metric names they
// may use is checked against a live daemon in status-page.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from './helpers/daemon-process.js';
import { alertRules, dashboardFile, rulesFile } from './helpers/deploy-files.js';

const execFileP = promisify(execFile);
const testsDir = join(repoRoot, 'deploy/prometheus/tests');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(markdown: string): Set<string> {
  return new Set(
    [...markdown.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^a-z0-9 _-]/g, '')
        .replace(/ /g, '-'),
    ),
  );
}

describe('alert rules, runbook and dashboard', () => {
  test('promtool check rules accepts the rules file', async () => {
    const { stdout } = await execFileP('promtool', ['check', 'rules', rulesFile]);
    assert.match(stdout, /SUCCESS: \d+ rules found/);
  });

  test('promtool test rules: every alert fires and resolves in the unit tests', async () => {
    const files = (await readdir(testsDir)).filter((f) => f.endsWith('.yml')).map((f) => join(testsDir, f));
    assert.ok(files.length > 0);
    const { stdout, stderr } = await execFileP('promtool', ['test', 'rules', ...files], { cwd: testsDir });
    assert.match(`${stdout}${stderr}`, /SUCCESS/);
    assert.doesNotMatch(`${stdout}${stderr}`, /FAILED/);
    const tested = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('\n');
    for (const rule of await alertRules()) {
      // Fires: an eval with exp_labels; resolves: a later eval of the same alert with no alerts.
      const evals = [
        ...tested.matchAll(
          new RegExp(`alertname: ${rule.alert}\\n\\s+exp_alerts:( \\[\\]|\\n\\s+- exp_labels)`, 'g'),
        ),
      ].map((m) => (m[1] === ' []' ? 'none' : 'fires'));
      const firstFire = evals.indexOf('fires');
      assert.ok(firstFire >= 0, `${rule.alert} is never tested firing`);
      assert.ok(evals.slice(firstFire).includes('none'), `${rule.alert} is never tested resolving`);
    }
  });

  test('each alert has a summary, a description and a runbook anchor that exists', async () => {
    const runbook = anchors(await readFile(join(repoRoot, 'docs/runbook.md'), 'utf8'));
    const rules = await alertRules();
    assert.ok(rules.length >= 6);
    for (const r of rules) {
      assert.ok(r.annotations.summary, `${r.alert}: summary`);
      assert.ok((r.annotations.description ?? '').length > 40, `${r.alert}: description names what to check`);
      const m = /^docs\/runbook\.md#(.+)$/.exec(r.annotations.runbook_url ?? '');
      assert.ok(m, `${r.alert}: runbook_url ${r.annotations.runbook_url}`);
      assert.ok(runbook.has(m[1]!), `${r.alert}: docs/runbook.md has no section #${m[1]}`);
    }
  });

  test('the dashboard is current Grafana JSON with a datasource variable used by every panel', async () => {
    const dash = JSON.parse(await readFile(dashboardFile, 'utf8'));
    assert.ok(dash.schemaVersion >= 39, `schemaVersion ${dash.schemaVersion}`);
    assert.equal(typeof dash.uid, 'string');
    assert.equal(typeof dash.title, 'string');
    const vars = dash.templating.list as { name: string; type: string; query: unknown }[];
    const ds = vars.find((v) => v.type === 'datasource');
    assert.ok(ds, 'a datasource variable');
    assert.equal(ds.query, 'prometheus');
    const ids = new Set<number>();
    for (const p of dash.panels as {
      id: number;
      type: string;
      gridPos: { w: number; h: number };
      datasource?: { uid: string };
      targets?: { expr: string; refId: string }[];
    }[]) {
      assert.ok(!ids.has(p.id), `panel id ${p.id} unique`);
      ids.add(p.id);
      assert.ok(p.gridPos.w > 0 && p.gridPos.w <= 24 && p.gridPos.h > 0);
      if (p.type === 'row') continue;
      assert.equal(p.datasource?.uid, `\${${ds.name}}`, `panel ${p.id} uses the datasource variable`);
      assert.ok((p.targets ?? []).length > 0, `panel ${p.id} has queries`);
      for (const t of p.targets ?? []) assert.ok(t.expr && t.refId);
    }
  });
});

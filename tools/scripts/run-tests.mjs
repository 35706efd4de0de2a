#!/usr/bin/env node
// Finds the test files and runs them with node's test runner (TAP, which CI reads).
// Node 20's --test takes no globs, so we list files ourselves.
//   --unit         package tests only (no built daemon needed)
//   --reliability  the full reliability suite (test/reliability, long)
//   any other args: filters (substring of the path)
// Before the suites, the programs they need are looked for (test-preflight.mjs): a full run stops at
// once naming what is missing, a filtered one says so and goes on. Every test gets TMPDIR in a folder
// of this run's, removed at the end, so nothing a test forgets is left in /tmp.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { missingTools, preflightReport } from './test-preflight.mjs';

const root = new URL('../..', import.meta.url).pathname;
const args = process.argv.slice(2);
const unit = args.includes('--unit');
const reliability = args.includes('--reliability');
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

let files = [
  ...walk(join(root, 'packages')),
  ...walk(join(root, 'apps')),
  ...walk(join(root, 'tools')),
  ...walk(join(root, 'examples')),
];
if (!unit) files.push(...walk(join(root, 'test')));
files = files.map((f) => relative(root, f)).sort();
files = files.filter((f) => (reliability ? f.startsWith('test/reliability/') : !f.includes('/full/')));
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
if (!unit && !process.env.TRIVY_MIRROR_SKIP_PREFLIGHT) {
  const report = preflightReport(missingTools());
  if (report && filters.length === 0) {
    console.error(report);
    process.exit(1);
  }
  if (report) console.error(`${report}\n(a filtered run: going on; the suites that need them will fail)`);
}
// 0755: the package test runs the executable as an unprivileged user from below it.
const runTmp = mkdtempSync(join(tmpdir(), 'tm-tests-'));
chmodSync(runTmp, 0o755);
// Ctrl-C reaches the test runner too; this process waits for it, then cleans up.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {});
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--conditions=source',
    '--test',
    '--test-reporter=tap',
    `--test-concurrency=${concurrency}`,
    // A test stuck for 5 minutes fails instead of holding CI; a file whose tests are done exits even
    // if something (a server a failed hook never closed) still holds the event loop. The timeout
    // also bounds each whole file: the full reliability runs (200 fault runs, ~10 min) get 45.
    `--test-timeout=${reliability ? 45 * 60_000 : 300_000}`,
    '--test-force-exit',
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, TRIVY_MIRROR_ROOT: root, TMPDIR: runTmp } },
);
rmSync(runTmp, { recursive: true, force: true });
process.exit(r.status ?? 1);

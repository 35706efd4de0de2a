// `npm run demo`'s promise, kept: the demo serves real-format data and its printed next step, a Trivy
// command, run as printed with the real Trivy v0.74 on PATH, finds the fixture CVEs through the demo.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { daemonBin, repoRoot } from './helpers/daemon-process.js';
import { assertFindings } from './helpers/trivy-expect.js';
import { scanJson, trivyBinary } from './helpers/trivy-cli.js';

test('the demo prints a Trivy command that works as printed', { timeout: 300_000 }, async () => {
  const trivy = trivyBinary('current');
  const dir = await mkdtemp(join(tmpdir(), 'tm-e2e-demo-'));
  const demo = spawn(process.execPath, [daemonBin, 'demo', '--dir', join(dir, 'demo')], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1', PATH: `${dirname(trivy.path)}:${process.env.PATH}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  demo.stdout.on('data', (d: Buffer) => (out += d.toString()));
  demo.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const t0 = Date.now();
    while (!/Running; press Ctrl-C to stop\./.test(out)) {
      assert.equal(demo.exitCode, null, `the demo exited: ${out}`);
      assert.ok(Date.now() - t0 < 120_000, `the demo is not ready: ${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(out, /real-format data/);
    assert.match(
      out,
      new RegExp(`Scan with Trivy \\(${trivy.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`),
    );
    const line = /^ {2}(XDG_DATA_HOME=\S+) trivy (.+)$/m.exec(out);
    assert.ok(line, `no Trivy command in: ${out}`);
    const [, envAssignment, argText] = line;
    const [name, value] = envAssignment!.split('=') as [string, string];
    const home = join(dir, 'client');
    // As printed, plus the JSON report to assert on.
    const report = await scanJson(argText!.split(' '), { home, env: { [name]: value } });
    assertFindings(report, { vex: true }, 'the demo command');
  } finally {
    demo.kill('SIGINT');
    const [code] = await once(demo, 'exit');
    await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, out.slice(-2000));
  }
});

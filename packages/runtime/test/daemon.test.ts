// runDaemon() in a child process: start, /healthz, SIGHUP reload (invalid keeps the old config),
// SIGTERM exits 0; a start hook failure exits 1 with the message.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { http, tempDir, waitFor } from './helpers.js';

const script = fileURLToPath(new URL('./fixtures/daemon.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));

function startDaemon(config: string): {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', script], {
    cwd: root,
    env: { ...process.env, TRIVY_MIRROR_CONFIG: config, NOTIFY_SOCKET: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ msg: line });
      }
    }
  });
  child.stderr!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

describe('runDaemon', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir('rt-daemon-')));
  after(() => cleanup());

  test('starts, reloads on SIGHUP (keeping the old config when invalid), exits 0 on SIGTERM', async () => {
    const config = join(dir, 'config.yaml');
    await writeFile(
      config,
      `stateDir: ${dir}/state\nadmin: { listen: "127.0.0.1:0" }\nlog: { format: json }\n`,
    );
    const d = startDaemon(config);
    try {
      const listening = await waitFor(
        () => d.lines.find((l) => l.msg === 'listening' && l.listener === 'admin'),
        20_000,
      );
      const admin = listening.url as string;
      await waitFor(() => d.lines.find((l) => l.msg === 'started'), 10_000);
      assert.equal((await http(`${admin}/healthz`)).status, 200);
      await waitFor(async () => (await http(`${admin}/readyz`)).status === 200, 5000);
      await waitFor(() => d.lines.find((l) => l.msg === 'job finished' && l.job === 'tick'), 5000);

      await writeFile(config, `stateDir: ${dir}/state\nadmin: { listen: "127.0.0.1:0" }\nbogus: 1\n`);
      d.child.kill('SIGHUP');
      const failed = await waitFor(
        () => d.lines.find((l) => String(l.msg).startsWith('reload failed')),
        5000,
      );
      assert.match(String(failed.msg), /bogus/);
      assert.equal((await http(`${admin}/readyz`)).status, 200);

      await writeFile(
        config,
        `stateDir: ${dir}/state\nadmin: { listen: "127.0.0.1:0" }\nplugins: { tick: { label: tock } }\n`,
      );
      d.child.kill('SIGHUP');
      await waitFor(() => d.lines.find((l) => l.msg === 'configuration reloaded'), 5000);
      const jobs = (await http(`${admin}/jobs`)).json() as { jobs: { id: string }[] };
      assert.deepEqual(
        jobs.jobs.map((j) => j.id),
        ['tock'],
      );

      const t = Date.now();
      d.child.kill('SIGTERM');
      assert.equal(await d.exited, 0);
      assert.ok(Date.now() - t < 10_000);
      assert.ok(d.lines.find((l) => l.msg === 'stopped'));
    } finally {
      d.child.kill('SIGKILL');
    }
  });

  test('a hanging stop hook does not keep the process: exit 0 in time, the hook is logged', async () => {
    const config = join(dir, 'hang.yaml');
    await writeFile(
      config,
      `stateDir: ${dir}/state\nadmin: { listen: "127.0.0.1:0" }\nplugins: { tick: { hangStop: true } }\n`,
    );
    const d = startDaemon(config);
    try {
      await waitFor(() => d.lines.find((l) => l.msg === 'started'), 20_000);
      const t = Date.now();
      d.child.kill('SIGTERM');
      assert.equal(await d.exited, 0);
      assert.ok(Date.now() - t < 6000, `took ${Date.now() - t} ms`);
      const warn = d.lines.find((l) => String(l.msg).includes('did not stop in time')) as {
        pending?: string[];
      };
      assert.deepEqual(warn?.pending, ['stop hook tick-hook']);
    } finally {
      d.child.kill('SIGKILL');
    }
  });

  test('a failing start hook exits 1 with the plugin name and cause', async () => {
    const config = join(dir, 'fail.yaml');
    await writeFile(
      config,
      `stateDir: ${dir}/state\nadmin: { listen: "127.0.0.1:0" }\nplugins: { tick: { failStart: true } }\n`,
    );
    const d = startDaemon(config);
    try {
      assert.equal(await d.exited, 1);
      const fatal = d.lines.find((l) => l.level === 60);
      assert.ok(fatal, JSON.stringify(d.lines));
      assert.match(
        String(fatal.msg),
        /plugin tick: start of tick-hook failed: tick cannot start: no upstream configured/,
      );
    } finally {
      d.child.kill('SIGKILL');
    }
  });
});

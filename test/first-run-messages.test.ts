// What a first week with the built CLI shows when things are not right, said once and plainly: a port
// already in use is one line naming the address and what to set (no stack), `status` and `sync` name a
// refused connection once per row, and the demo's --exit-when-ready ends with its summary, no stray WARN.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, runCli, startDaemon } from './helpers/daemon-process.js';

describe('first-run messages (built CLI)', { timeout: 120_000 }, () => {
  let dir: string;
  let busy: Server;
  let busyPort: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-e2e-first-run-'));
    busy = createServer().listen(0, '127.0.0.1');
    await once(busy, 'listening');
    busyPort = (busy.address() as { port: number }).port;
  });

  after(async () => {
    busy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const config = async (name: string, lines: string[]) => {
    const file = join(dir, name);
    await writeFile(file, [`stateDir: ${join(dir, `${name}-state`)}`, ...lines, ''].join('\n'));
    return file;
  };

  test('a port in use: one line naming the address and what to set, no stack trace', async () => {
    const file = await config('busy.yaml', [
      `admin: { listen: 127.0.0.1:${busyPort} }`,
      'log: { format: json }',
      'plugins:',
      '  oci-sync: { artifacts: [] }',
      '  vexhub-mirror: { repositories: [] }',
      '  cache-populator: { targets: [] }',
    ]);
    const r = await runCli(['run', '--config', file], { timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const fatal = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.level === 60);
    assert.ok(fatal, r.stdout);
    assert.equal(
      fatal.msg,
      `start-up failed: admin.listen 127.0.0.1:${busyPort}: the address is already in use (EADDRINUSE): another trivy-mirror or another program listens there; set admin.listen (or TRIVY_MIRROR_ADMIN_LISTEN) to a free address`,
    );
    assert.equal(fatal.code, 'LISTEN_FAILED');
    assert.equal(fatal.err, undefined, 'no error object with a stack');
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at |"stack"/);
  });

  test('status and sync name a refused connection once per row', async () => {
    const adminPort = await freePort();
    const file = await config('refused.yaml', [
      `admin: { listen: 127.0.0.1:${adminPort} }`,
      'log: { format: json }',
      'plugins:',
      '  auth-providers: { dockerConfig: false }',
      '  oci-sync: { sources: ["127.0.0.1:1/aquasec"], artifacts: [{ name: trivy-db, tags: ["2"] }] }',
      '  vexhub-mirror: { repositories: [] }',
      '  cache-populator: { targets: [] }',
    ]);
    const namedOnce = (text: string) => {
      const rows = text.split('\n').filter((l) => /ECONNREFUSED|connection refused/.test(l));
      assert.ok(rows.length > 0, text);
      for (const row of rows) {
        assert.equal(row.split('ECONNREFUSED').length - 1, 1, row);
        assert.equal(row.split('connection refused').length - 1, 1, row);
      }
    };
    const sync = await runCli(['sync', '--config', file, '--only', 'oci-sync']);
    assert.equal(sync.code, 1, sync.stdout + sync.stderr);
    namedOnce(sync.stdout + sync.stderr);
    const daemon = await startDaemon({
      args: ['run', '--config', file],
      adminUrl: `http://127.0.0.1:${adminPort}`,
    });
    try {
      await daemon.waitForLog((l) => l.msg === 'job finished' && l.job === 'oci-sync', 30_000);
      const status = await runCli(['status', '--config', file]);
      namedOnce(status.stdout);
    } finally {
      await daemon.stop();
    }
  });

  test('demo --exit-when-ready ends with its summary: no stray WARN', async () => {
    const r = await runCli(['demo', '--exit-when-ready'], { cwd: dir, timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /\bWARN\b|"level":40/, r.stdout + r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout.trimEnd().split('\n').at(-1)!, /^It finds CVE-/);
  });
});

// The stand-in admin listener of `run`: where it listens, what it answers, and that it lets go.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { adminListenFromYaml, closeEarlyHealth, startEarlyHealth } from '../src/early-health.js';

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('adminListenFromYaml', () => {
  test('reads flow and block styles, quoted or not; defaults when admin is absent', () => {
    assert.equal(adminListenFromYaml('admin: { listen: 127.0.0.1:9999 }\n'), '127.0.0.1:9999');
    assert.equal(
      adminListenFromYaml('stateDir: /x\nadmin: { listen: "127.0.0.1:9998" }\n'),
      '127.0.0.1:9998',
    );
    assert.equal(
      adminListenFromYaml('admin:\n  # comment\n  listen: 127.0.0.1:9997  # note\nlog: {}\n'),
      '127.0.0.1:9997',
    );
    assert.equal(adminListenFromYaml("admin:\n  listen: '[::1]:9996'\n"), '[::1]:9996');
    assert.equal(adminListenFromYaml('stateDir: /x\n'), '127.0.0.1:9180');
    assert.equal(adminListenFromYaml('admin: {}\n'), '127.0.0.1:9180');
    assert.equal(adminListenFromYaml('admin: &a\n  listen: *x\n'), undefined);
  });
});

describe('startEarlyHealth', () => {
  test('answers /healthz 200 and /readyz 503 for `run`, then frees the address', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tm-early-'));
    try {
      const port = await freePort();
      const cfg = join(dir, 'c.yaml');
      await writeFile(cfg, `admin: { listen: 127.0.0.1:${port} }\n`);
      const server = await startEarlyHealth(['node', 'bin', 'run', '--config', cfg], {});
      assert.ok(server);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok', phase: 'starting' });
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 503);
      await ready.arrayBuffer();
      await closeEarlyHealth();
      const again = createServer().listen(port, '127.0.0.1');
      await new Promise((r, j) => again.once('listening', r).once('error', j));
      await new Promise((r) => again.close(r));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('does nothing for other commands, --help, unreadable configs or port 0', async () => {
    assert.equal(await startEarlyHealth(['node', 'bin', 'sync'], {}), undefined);
    assert.equal(await startEarlyHealth(['node', 'bin', 'run', '--help'], {}), undefined);
    assert.equal(await startEarlyHealth(['node', 'bin', 'run', '-c', '/nonexistent.yaml'], {}), undefined);
    assert.equal(
      await startEarlyHealth(['node', 'bin', 'run'], { TRIVY_MIRROR_ADMIN_LISTEN: '127.0.0.1:0' }),
      undefined,
    );
  });
});

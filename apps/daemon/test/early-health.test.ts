// The stand-in admin listener of `run`: where it listens, what it answers, and that it lets go.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  adminListenFromYaml,
  closeEarlyHealth,
  letStandInAnswer,
  startEarlyHealth,
} from '../src/admin/early-health.js';

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

  test('letStandInAnswer answers a probe that is already waiting before the next module load blocks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tm-early-'));
    // the probe runs on its own thread, as a kubelet or systemd would from outside: on 'go' it asks
    // /healthz and says when the answer came, on the clock both threads share
    const probe = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const http = require('node:http');
       parentPort.on('message', (port) => {
         http.get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
           res.resume();
           res.on('end', () => parentPort.postMessage({ status: res.statusCode, at: performance.timeOrigin + performance.now() }));
         });
       });
       parentPort.postMessage('ready');`,
      { eval: true },
    );
    try {
      await new Promise((resolve) => probe.once('message', resolve));
      const port = await freePort();
      const cfg = join(dir, 'c.yaml');
      await writeFile(cfg, `admin: { listen: 127.0.0.1:${port} }\n`);
      assert.ok(await startEarlyHealth(['node', 'bin', 'run', '--config', cfg], {}));
      const answered = new Promise<{ status?: number; at?: number }>((resolve) =>
        probe.once('message', resolve),
      );
      const busy = (ms: number) => {
        const until = performance.now() + ms;
        while (performance.now() < until);
      };
      // a module evaluation keeps this loop busy while the probe connects and sends
      probe.postMessage(port);
      busy(300);
      await letStandInAnswer();
      // the next module evaluation
      const blockedAt = performance.timeOrigin + performance.now();
      busy(300);
      const got = await answered;
      assert.equal(got.status, 200);
      assert.ok(
        (got.at ?? Infinity) < blockedAt + 150,
        `answered ${(got.at ?? 0) - blockedAt} ms into the block`,
      );
    } finally {
      await probe.terminate();
      await closeEarlyHealth();
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

// End to end: an uncaught exception or an unhandled rejection, injected by an external plugin into the
// built daemon, never ends it silently or half-way. It is logged at fatal with the error, /readyz turns
// 503 while the normal shutdown runs (stop hooks, temp files removed), and the process exits 70 so that
// systemd's Restart=on-failure brings it back.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { type RunningRegistry, seedUpstream, startRegistry } from '@trivy-mirror/fixtures';
import { waitReady } from './helpers/admin-api.js';
import { freePort, startDaemon } from './helpers/daemon-process.js';
import { findTempLeftovers } from './helpers/temp-files.js';
import { startVexServer, type VexServer } from './helpers/vex-server.js';

const faultPlugin = fileURLToPath(new URL('./fixtures/fault-plugin.mjs', import.meta.url));

describe('fatal errors in the daemon', { timeout: 120_000 }, () => {
  let dir: string;
  let upstream: RunningRegistry;
  let vex: VexServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-e2e-fatal-'));
    [upstream, vex] = await Promise.all([startRegistry(), startVexServer()]);
    await seedUpstream({
      registryUrl: upstream.url,
      workDir: join(dir, 'seed'),
      dbBytes: 64 * 1024,
      javaDbBytes: 64 * 1024,
      seed: 'e2e-fatal',
    });
  });

  after(async () => {
    await Promise.allSettled([upstream?.stop(), vex?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const fault of ['throw', 'reject'] as const) {
    const origin = fault === 'throw' ? 'uncaughtException' : 'unhandledRejection';
    test(`${origin}: fatal log with the error, /readyz 503, normal shutdown, exit 70`, async () => {
      const work = join(dir, fault);
      await mkdir(work, { recursive: true });
      const admin = await freePort();
      const config = join(work, 'config.yaml');
      await writeFile(
        config,
        `stateDir: ${work}/state
admin: { listen: 127.0.0.1:${admin} }
log: { level: info, format: json }
plugins:
  auth-providers: { dockerConfig: false }
  oci-sync: { sources: [${upstream.host}/aquasec] }
  cache-populator: { targets: [{ dir: ${work}/cache }] }
  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }
  external:
    - module: ${faultPlugin}
      options: { fault: ${fault}, stopDelayMs: 1500, markerDir: ${work} }
`,
      );
      const daemon = await startDaemon({
        args: ['run', '--config', config],
        adminUrl: `http://127.0.0.1:${admin}`,
      });
      try {
        await waitReady(daemon, 60_000);
        const armed = await fetch(`${daemon.adminUrl}/jobs/fault-injector/run`, {
          method: 'POST',
          headers: { 'x-trivy-mirror': 'test' },
        });
        assert.equal(armed.status, 202);

        const line = await daemon.waitForLog((l) => l.level === 60, 10_000);
        assert.equal(line.origin, origin);
        const err = line.err as { message?: string; stack?: string };
        assert.match(err.message ?? '', new RegExp(`injected ${fault} from the fault-injector plugin`));
        assert.match(err.stack ?? '', /fault-plugin\.mjs/);
        assert.match(String(line.msg), /shutting down \(exit 70\)/);

        // The stop hook takes 1.5 s: readiness is already red while it runs.
        const ready = await fetch(`${daemon.adminUrl}/readyz`);
        assert.equal(ready.status, 503);
        assert.equal(((await ready.json()) as { phase: string }).phase, 'stopping');

        const exit = await daemon.exited;
        assert.deepEqual(exit, { code: 70, signal: null });
        const marker = JSON.parse(await readFile(join(work, 'stopped.json'), 'utf8')) as { at: number };
        assert.ok(marker.at > 0, 'the plugins were stopped the normal way');
        assert.ok(
          daemon.logs().some((l) => l.msg === 'stopping'),
          'the runtime ran its shutdown',
        );
        assert.deepEqual(await findTempLeftovers(join(work, 'state'), join(work, 'cache')), []);
      } finally {
        await daemon.stop('SIGKILL').catch(() => {});
      }
    });
  }
});

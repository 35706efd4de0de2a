// The air gap with the real Trivy v0.74: a connected daemon syncs real-format data and VEX, `export`
// writes the transfer tree, the connected side and every upstream stop, `import` fills an inside daemon
// that has no upstream (the printed inside profile), and Trivy scans through the inside daemon alone,
// with its databases, checks and VEX (set-up of the connected side: helpers/trivy-world.ts).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitReady } from './helpers/admin-api.js';
import { clientConfig } from './helpers/client-config.js';
import { type DaemonProcess, freePort, runCli, startDaemon } from './helpers/daemon-process.js';
import { setYamlPaths } from './helpers/local-config.js';
import { cachedChecksDigest, scanProject } from './helpers/trivy-expect.js';
import { startTrivyWorld, type TrivyWorld } from './helpers/trivy-world.js';

describe('real Trivy through an inside daemon filled by export and import', { timeout: 900_000 }, () => {
  let world: TrivyWorld;
  let inside: DaemonProcess | undefined;
  let insideConfig: string;
  before(async () => {
    world = await startTrivyWorld('trivy-airgap');
    const exported = join(world.work.dir, 'export');
    const e = await runCli(['export', '--out', exported, '--config', world.config]);
    assert.equal(e.code, 0, `export: ${e.stdout}${e.stderr}`);
    // Nothing outside is reachable from now on.
    await world.daemon.stop();
    await world.vex.close();
    await Promise.all([world.upstream.stop(), world.dst.stop()]);

    const admin = await freePort();
    const serve = await freePort();
    const printed = await runCli(['config', 'example', '--profile', 'inside'], { timeoutMs: 20_000 });
    assert.equal(printed.code, 0, printed.stderr);
    insideConfig = join(world.work.dir, 'inside.yaml');
    await writeFile(
      insideConfig,
      setYamlPaths(printed.stdout, [
        [['stateDir'], join(world.work.dir, 'inside')],
        [['admin', 'listen'], `127.0.0.1:${admin}`],
        [['serve', 'listen'], `127.0.0.1:${serve}`],
        [['serve', 'publicUrl'], `http://127.0.0.1:${serve}`],
        [['log', 'format'], 'json'],
        [['plugins', 'auth-providers', 'dockerConfig'], false],
        [['plugins', 'oci-sync', 'destinations'], []],
        [['plugins', 'cache-populator', 'targets', 0, 'dir'], join(world.work.dir, 'inside-cache')],
      ]),
    );
    const im = await runCli(['import', exported, '--config', insideConfig]);
    assert.equal(im.code, 0, `import: ${im.stdout}${im.stderr}`);
    inside = await startDaemon({
      args: ['run', '--config', insideConfig],
      adminUrl: `http://127.0.0.1:${admin}`,
    });
    await waitReady(inside, 60_000);
  });
  after(async () => {
    await inside?.stop();
    await world?.stop();
  });

  test('databases, checks and VEX come from the inside daemon alone', async () => {
    const cc = await clientConfig(insideConfig);
    assert.ok(cc.vex, 'the inside daemon serves VEX');
    const home = await world.clientHome('inside');
    await cc.writeFiles(home);
    const cache = join(home, 'cache');
    await scanProject(
      ['--cache-dir', cache, ...cc.args(), ...cc.args(cc.vex)],
      { home },
      { vex: true },
      'inside daemon',
    );
    assert.equal(await cachedChecksDigest(cache), world.seeded.digests['trivy-checks:2']);
  });

  test('the cache dir the inside daemon fills, offline', async () => {
    const cc = await clientConfig(insideConfig);
    const home = await world.clientHome('inside-offline');
    await cc.writeFiles(home);
    const offline = ['--skip-db-update', '--skip-java-db-update', '--skip-check-update', '--offline-scan'];
    await scanProject(
      [
        '--cache-dir',
        join(world.work.dir, 'inside-cache'),
        ...offline,
        ...cc.args(cc.vex!),
        '--skip-vex-repo-update',
      ],
      { home },
      { vex: true },
      'inside cache dir',
    );
  });
});

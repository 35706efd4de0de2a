// The real Trivy v0.74 with `--vex repo` against the VEX repository the mirror serves and the VEX cache
// it writes: the VEX Hub snapshot plus one statement that marks lodash's CVE-2020-28500 not_affected,
// so the CVE is reported without VEX and suppressed with it. repository.yaml is written exactly as
// client-config prints it (set-up: helpers/trivy-world.ts).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clientConfig } from './helpers/client-config.js';
import { type RequestRecorder, repositoryFlagsAt, startRequestRecorder } from './helpers/request-recorder.js';
import { runTrivy } from './helpers/trivy-cli.js';
import { scanProject } from './helpers/trivy-expect.js';
import { startTrivyWorld, type TrivyWorld } from './helpers/trivy-world.js';

const OFFLINE = ['--skip-db-update', '--skip-java-db-update', '--skip-check-update', '--offline-scan'];

describe('real Trivy with the VEX repository the mirror serves', { timeout: 900_000 }, () => {
  let world: TrivyWorld;
  let recorder: RequestRecorder;
  before(async () => {
    world = await startTrivyWorld('trivy-vex');
    recorder = await startRequestRecorder();
  });
  after(async () => {
    await recorder?.close();
    await world?.stop();
  });

  test('`trivy vex repo download` from the mirror, then a scan with --vex repo', async () => {
    const cc = await clientConfig(world.config);
    assert.ok(cc.vex, 'client-config printed no VEX section');
    assert.deepEqual(cc.vex.flags, ['--vex repo']);
    const home = await world.clientHome('vex-download');
    const [repositoryYaml] = await cc.writeFiles(home);
    assert.match(await readFile(repositoryYaml!, 'utf8'), new RegExp(`url: ${world.serveUrl}\\n`));
    const cache = join(home, 'cache');
    const download = await runTrivy(['vex', 'repo', 'download', '--cache-dir', cache], { home });
    assert.equal(download.code, 0, download.stderr);
    // Trivy keeps the manifest it read: its location is the mirror's archive, not github.com.
    const manifest = JSON.parse(
      await readFile(join(cache, 'vex', 'repositories', 'vexhub', 'vex-repository.json'), 'utf8'),
    ) as { versions: { locations: { url: string }[] }[] };
    const location = manifest.versions[0]!.locations[0]!.url;
    assert.ok(location.startsWith(`${world.serveUrl}/`), `location ${location}`);
    // Without VEX the CVE is there; with it, gone.
    await scanProject(['--cache-dir', cache, ...cc.args()], { home }, {}, 'no VEX');
    await scanProject(
      ['--cache-dir', cache, ...cc.args(), ...cc.args(cc.vex)],
      { home },
      { vex: true },
      '--vex repo',
    );
  });

  test('--vex repo scans the repository on first use, with no download step', async () => {
    const cc = await clientConfig(world.config);
    const home = await world.clientHome('vex-first-use');
    await cc.writeFiles(home);
    await scanProject(
      ['--cache-dir', join(home, 'cache'), ...cc.args(), ...cc.args(cc.vex!)],
      { home },
      { vex: true, command: 'fs' },
      '--vex repo, first use',
    );
  });

  test('the VEX cache the daemon fills, with --skip-vex-repo-update and no network', async () => {
    const cc = await clientConfig(world.config);
    const home = await world.clientHome('vex-offline');
    await cc.writeFiles(home);
    const nowhere = repositoryFlagsAt(recorder.host);
    await scanProject(
      ['--cache-dir', world.cacheDir, ...OFFLINE, ...nowhere, ...cc.args(cc.vex!), '--skip-vex-repo-update'],
      { home },
      { vex: true },
      'daemon VEX cache, offline',
    );
    assert.deepEqual(recorder.requests, []);
  });
});

// The real Trivy v0.74 scans from cache dirs the mirror filled, as hosts with no registry access do:
// one written by `trivy-mirror populate`, one kept by the daemon. Every repository flag points at a
// listener that records requests, so any attempt to download fails the test: with the skip flags, and
// without them (the metadata's DownloadedAt and NextUpdate must satisfy Trivy's own rules), also after
// the daemon swapped in a newer version (set-up: helpers/trivy-world.ts).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedUpstream } from '@trivy-mirror/fixtures';
import { runJob } from './helpers/admin-api.js';
import { eventually, runCli } from './helpers/daemon-process.js';
import { type RequestRecorder, repositoryFlagsAt, startRequestRecorder } from './helpers/request-recorder.js';
import { cachedChecksDigest, scanProject } from './helpers/trivy-expect.js';
import { startTrivyWorld, type TrivyWorld } from './helpers/trivy-world.js';

const OFFLINE = ['--skip-db-update', '--skip-java-db-update', '--skip-check-update', '--offline-scan'];

describe('real Trivy on cache dirs the mirror filled', { timeout: 900_000 }, () => {
  let world: TrivyWorld;
  let recorder: RequestRecorder;
  /** Every repository flag at the recorder: a download attempt lands there. */
  let nowhere: string[];
  before(async () => {
    world = await startTrivyWorld('trivy-cache');
    recorder = await startRequestRecorder();
    nowhere = repositoryFlagsAt(recorder.host);
  });
  after(async () => {
    await recorder?.close();
    await world?.stop();
  });

  const noRequests = (where: string) =>
    assert.deepEqual(
      recorder.requests,
      [],
      `${where}: Trivy asked the recorder ${JSON.stringify(recorder.requests)}`,
    );

  test('a cache dir written by `populate`, scanned with the skip flags and --offline-scan', async () => {
    const home = await world.clientHome('populate');
    const cache = join(home, 'cache');
    const r = await runCli(['populate', '--cache-dir', cache, '--from-store', join(world.stateDir, 'oci')]);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    await scanProject(
      ['--cache-dir', cache, ...OFFLINE, ...nowhere],
      { home },
      { command: 'fs' },
      'populate cache, offline',
    );
    noRequests('populate cache, offline');
    assert.equal(await cachedChecksDigest(cache), world.seeded.digests['trivy-checks:2']);
  });

  test('the cache dir the daemon keeps, scanned with the skip flags and --offline-scan', async () => {
    const home = await world.clientHome('daemon-offline');
    await scanProject(
      ['--cache-dir', world.cacheDir, ...OFFLINE, ...nowhere],
      { home },
      {},
      'daemon cache, offline',
    );
    noRequests('daemon cache, offline');
  });

  test('the same cache dir without the skip flags: Trivy downloads nothing, now and after a swap', async () => {
    const home = await world.clientHome('daemon-online');
    // Without --offline-scan the jar is looked up by SHA-1 in the java DB the mirror put there.
    await scanProject(
      ['--cache-dir', world.cacheDir, ...nowhere],
      { home },
      {},
      'daemon cache, no skip flags',
    );
    noRequests('daemon cache, no skip flags');

    // A newer upstream version: the daemon syncs it and swaps it into the cache dir.
    const before = JSON.parse(await readFile(join(world.cacheDir, 'db', 'metadata.json'), 'utf8'));
    const newer = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
    await seedUpstream({
      registryUrl: world.upstream.url,
      prefix: 'aquasec',
      workDir: join(world.work.dir, 'seed-newer'),
      content: 'real',
      seed: 'trivy-cache-newer',
      updatedAt: newer,
    });
    const run = await runJob(world.daemon, 'oci-sync');
    assert.equal(run.status, 'success', JSON.stringify(run));
    const swapped = await eventually(
      async () => {
        const meta = JSON.parse(await readFile(join(world.cacheDir, 'db', 'metadata.json'), 'utf8'));
        return meta.UpdatedAt !== before.UpdatedAt ? meta : undefined;
      },
      60_000,
      'cache-populator swaps the newer trivy-db into the cache dir',
    );
    assert.equal(Date.parse(swapped.UpdatedAt), newer.getTime());
    await scanProject(['--cache-dir', world.cacheDir, ...nowhere], { home }, {}, 'after the swap');
    noRequests('after the swap');
  });
});

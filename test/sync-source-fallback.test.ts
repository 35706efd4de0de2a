// End to end: oci-sync's source list through the built CLI against real docker-registry instances: a
// closed first source falls back to the next, a rate-limited one is waited out or skipped (set-up:
// helpers/sync-suite.ts).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFaultProxy } from '@trivy-mirror/fixtures';
import { freePort, runCli } from './helpers/daemon-process.js';
import { writeMirrorConfig } from './helpers/mirror-config.js';
import { skopeoRaw } from './helpers/oci-e2e.js';
import { type SyncSuite, startSyncSuite } from './helpers/sync-suite.js';

describe('trivy-mirror sync (e2e)', { timeout: 240_000 }, () => {
  let sync: SyncSuite;
  before(async () => (sync = await startSyncSuite('sync-fallback')));
  after(() => sync?.stop());

  test('a closed first source falls back to the second; a 429 source is waited out or skipped', async (t) => {
    const closed = await freePort();
    const stateA = join(sync.work.dir, 'state-fallback');
    const cfgA = await writeMirrorConfig(join(sync.work.dir, 'fallback.yaml'), {
      stateDir: stateA,
      sources: [`127.0.0.1:${closed}/aquasec`, `${sync.upstream.host}/aquasec`],
      artifacts: [
        { name: 'trivy-db', tags: ['2'] },
        { name: 'trivy-checks', tags: ['2'] },
      ],
      adminPort: await freePort(),
    });
    const a = await runCli(['sync', '--config', cfgA, '--only', 'oci-sync']);
    t.diagnostic(a.stdout.trim());
    assert.equal(a.code, 0, `${a.stdout}\n${a.stderr}`);
    assert.match(
      a.stdout,
      new RegExp(`trivy-db:2\\s+updated .* from ${sync.upstream.host}/aquasec/trivy-db:2`),
    );
    assert.equal(
      (await skopeoRaw(`oci:${join(stateA, 'oci', 'trivy-db')}:2`)).digest,
      sync.seeded.digests['trivy-db:2'],
    );
    assert.equal(
      (await skopeoRaw(`oci:${join(stateA, 'oci', 'trivy-checks')}:2`)).digest,
      sync.seeded.digests['trivy-checks:2'],
    );

    let limited = 0;
    const tooMany = await startFaultProxy({
      upstream: sync.upstream.url,
      fault: (req) => {
        if (!req.url?.includes('/manifests/') || limited >= 2) return undefined;
        limited++;
        return {
          kind: 'status',
          status: 429,
          headers: { 'retry-after': '1', 'content-type': 'application/json' },
          body: JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'rate limited' }] }),
        };
      },
    });
    try {
      const stateB = join(sync.work.dir, 'state-429');
      const cfgB = await writeMirrorConfig(join(sync.work.dir, 'limited.yaml'), {
        stateDir: stateB,
        sources: [`${tooMany.host}/aquasec`, `${sync.upstream.host}/aquasec`],
        artifacts: [{ name: 'trivy-db', tags: ['2'] }],
        adminPort: await freePort(),
      });
      const b = await runCli(['sync', '--config', cfgB, '--only', 'oci-sync']);
      t.diagnostic(b.stdout.trim());
      assert.equal(b.code, 0, `${b.stdout}\n${b.stderr}`);
      assert.ok(limited >= 1, 'the rate-limited source was asked');
      assert.equal(
        (await skopeoRaw(`oci:${join(stateB, 'oci', 'trivy-db')}:2`)).digest,
        sync.seeded.digests['trivy-db:2'],
      );
    } finally {
      await tooMany.stop();
    }
  });
});

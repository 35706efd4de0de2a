// End to end for cache-populator's repair in the daemon: a deleted trivy.db or metadata.json is put
// back from the store, offline, within 2 s plus an extraction (set-up: helpers/cache-suite.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type CacheDaemonSuite,
  parseJsonOut,
  snapshot,
  startCacheDaemonSuite,
} from './helpers/cache-suite.js';
import { runCli } from './helpers/daemon-process.js';
import { dbVerdict, readJson } from './helpers/trivy-rules.js';

describe('trivy-mirror run with a cache target', () => {
  let suite: CacheDaemonSuite;
  before(async () => (suite = await startCacheDaemonSuite('cache-repair')));
  after(() => suite?.stop());

  test('rm db/trivy.db and rm java-db/metadata.json are repaired offline within 2 s + extraction', async (t) => {
    // How long extracting the db takes on this machine right now (from the daemon's store).
    const probe = await runCli([
      'populate',
      '--cache-dir',
      path.join(suite.root, 'cache-probe'),
      '--from-store',
      path.join(suite.stateDir, 'oci'),
      '--only',
      'db,java-db',
      '--json',
    ]);
    assert.equal(probe.code, 0, probe.stderr);
    const ms = Object.fromEntries(parseJsonOut(probe.stdout).parts.map((p) => [p.key, p.ms]));
    // No network from here on: the upstream registry is gone.
    await suite.registry.stop();

    const cases = [
      { part: 'db' as const, dbFile: 'trivy.db', remove: 'trivy.db' },
      { part: 'java-db' as const, dbFile: 'trivy-java.db', remove: 'metadata.json' },
    ];
    for (const c of cases) {
      const before = await snapshot(suite.cacheDir, c.part, c.dbFile);
      const beforeMeta = JSON.parse(before.metadata) as Record<string, unknown>;
      const t0 = Date.now();
      await fs.rm(path.join(suite.cacheDir, c.part, c.remove));
      const bound = 2000 + 2 * (ms[c.part] ?? 0) + 200;
      for (;;) {
        const meta = await readJson(path.join(suite.cacheDir, c.part, 'metadata.json'));
        const ok =
          meta &&
          (await fs.stat(path.join(suite.cacheDir, c.part, c.dbFile)).then(
            () => true,
            () => false,
          ));
        if (ok) break;
        assert.ok(
          Date.now() - t0 < bound + 5000,
          `${c.part} not repaired: ${suite.daemon.stderr().slice(-1000)}`,
        );
        await new Promise((r) => setTimeout(r, 20));
      }
      const took = Date.now() - t0;
      t.diagnostic(`${c.part}: rm ${c.remove} repaired in ${took} ms (extraction ${ms[c.part]} ms)`);
      assert.ok(
        took <= bound,
        `${c.part} repaired in ${took} ms, bound ${bound} ms (extraction ${ms[c.part]} ms)`,
      );
      const now = await snapshot(suite.cacheDir, c.part, c.dbFile);
      assert.equal(now.db, before.db, `${c.part}: same db bytes`);
      assert.notEqual(now.target, before.target, `${c.part}: a new version dir`);
      const meta = JSON.parse(now.metadata) as Record<string, unknown>;
      assert.equal(meta.UpdatedAt, beforeMeta.UpdatedAt);
      assert.equal(
        meta.DownloadedAt,
        beforeMeta.DownloadedAt,
        'a repair of the same content keeps DownloadedAt',
      );
      assert.equal(dbVerdict(meta, true, Date.now(), c.part).skipValid, true);
    }
    assert.ok(suite.daemon.logs().some((l) => l.msg === 'cache part damaged; repairing from the store'));
  });
});

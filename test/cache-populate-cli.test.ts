// End to end for `trivy-mirror populate` (the built CLI): from an OCI layout store and from a real
// registry, the cache dirs it writes are what Trivy's own rules accept (set-up: helpers/cache-suite.ts).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CacheSuite, leftovers, parseJsonOut, startCacheSuite } from './helpers/cache-suite.js';
import { runCli } from './helpers/daemon-process.js';
import { assertTrivyCache, dbVerdict, readJson } from './helpers/trivy-rules.js';

describe('trivy-mirror populate (CLI)', () => {
  let suite: CacheSuite;
  before(async () => (suite = await startCacheSuite('cache-cli')));
  after(() => suite?.stop());

  test('--from-store: every field as Trivy expects; a second run changes nothing', async () => {
    const cacheDir = path.join(suite.root, 'cache-store');
    const from = Date.now();
    const r = await runCli(['populate', '--cache-dir', cacheDir, '--from-store', suite.storeDir, '--json']);
    const to = Date.now();
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = parseJsonOut(r.stdout);
    assert.deepEqual(
      out.parts.map((p) => [p.key, p.status]),
      [
        ['db', 'populated'],
        ['java-db', 'populated'],
        ['checks', 'populated'],
      ],
    );
    const meta = await assertTrivyCache(cacheDir, suite.expectation(from, to));
    // Still fine for Trivy 50 minutes later (the +1 h rule) and, for java-db, 23 hours later.
    assert.equal(dbVerdict(meta.db, true, to + 50 * 60_000, 'db').download, false);
    assert.equal(
      dbVerdict({ ...meta['java-db'], NextUpdate: undefined }, true, to + 23 * 3_600_000, 'java-db').download,
      false,
    );

    const again = await runCli([
      'populate',
      '--cache-dir',
      cacheDir,
      '--from-store',
      suite.storeDir,
      '--json',
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      parseJsonOut(again.stdout).parts.map((p) => p.status),
      ['unchanged', 'unchanged', 'unchanged'],
    );
    const meta2 = await assertTrivyCache(cacheDir, suite.expectation(from, to));
    assert.equal(meta2.db!.DownloadedAt, meta.db!.DownloadedAt, 'an unchanged run keeps DownloadedAt');
    assert.deepEqual(await leftovers(cacheDir), []);

    // Older Trivy releases: checks tag 1, MajorVersion 1.
    const old = path.join(suite.root, 'cache-checks1');
    const r1 = await runCli([
      'populate',
      '--cache-dir',
      old,
      '--from-store',
      suite.storeDir,
      '--only',
      'checks',
      '--checks-tag',
      '1',
    ]);
    assert.equal(r1.code, 0, r1.stderr + r1.stdout);
    const p1 = await readJson(path.join(old, 'policy', 'metadata.json'));
    assert.equal(p1?.MajorVersion, 1);
    assert.equal(p1?.Digest, suite.seeded.digests['trivy-checks:1']);
  });

  test('--from-registry HOST/aquasec (a real registry): the same result', async () => {
    const cacheDir = path.join(suite.root, 'cache-registry');
    const from = Date.now();
    const r = await runCli([
      'populate',
      '--cache-dir',
      cacheDir,
      '--from-registry',
      `${suite.registry.host}/aquasec`,
      '--json',
    ]);
    const to = Date.now();
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.ok(parseJsonOut(r.stdout).parts.every((p) => p.status === 'populated'));
    await assertTrivyCache(cacheDir, suite.expectation(from, to));
  });
});

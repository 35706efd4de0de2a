// End to end for cache-populator in the daemon (`trivy-mirror run`): after ready the cache dir is what
// Trivy expects, and repeated version swaps (synced, and forced from the CLI) never show a concurrent
// reader a torn pair or a missing file (set-up: helpers/cache-suite.ts).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKeystream, generateArtifact, pushArtifact } from '@trivy-mirror/fixtures';
import { after, before, describe, test } from 'node:test';
import { runJob } from './helpers/admin-api.js';
import { type CacheDaemonSuite, MiB, populateDbArgs, startCacheDaemonSuite } from './helpers/cache-suite.js';
import { runCli } from './helpers/daemon-process.js';
import { assertTrivyCache, dbVerdict, readJson } from './helpers/trivy-rules.js';

const readerScript = fileURLToPath(new URL('./helpers/cache-pair-reader.mjs', import.meta.url));

describe('trivy-mirror run with a cache target', () => {
  let suite: CacheDaemonSuite;
  before(async () => (suite = await startCacheDaemonSuite('cache-daemon')));
  after(() => suite?.stop());

  /** Pushes a trivy-db version whose trivy.db starts with a marker derivable from its seed. */
  async function dbVersion(i: number, base: number) {
    const seed = `loop-${i}`;
    const art = await generateArtifact({
      kind: 'trivy-db',
      seed,
      dbBytes: 2 * MiB,
      updatedAt: new Date(base + i * 60_000),
      workDir: path.join(suite.root, 'work-loop'),
    });
    const meta = JSON.parse(art.metadataJson!.toString('utf8')) as { UpdatedAt: string };
    return { art, updatedAt: meta.UpdatedAt, marker: createKeystream(seed, 'trivy.db')(16).toString('hex') };
  }

  test('after ready the cache dir is what Trivy expects', async () => {
    await assertTrivyCache(suite.cacheDir, suite.expectation(suite.startedAt, Date.now()));
  });

  test('repeated repopulations: a concurrent reader never sees a torn pair or a missing file', async (t) => {
    const first = suite.artifact('trivy-db', '2');
    const firstUpdatedAt = JSON.parse(first.metadataJson!.toString('utf8')).UpdatedAt as string;
    // each pushed version newer than the one before (an older one is a refused rollback)
    const base = Date.parse(firstUpdatedAt) + 60_000;
    const expected: Record<string, string> = {
      [firstUpdatedAt]: createKeystream('e2e-cache', 'trivy.db')(16).toString('hex'),
    };
    const versions = [];
    const N = 20;
    for (let i = 0; i < N; i++) {
      const v = await dbVersion(i, base);
      versions.push(v);
      expected[v.updatedAt] = v.marker;
    }
    const expectedFile = path.join(suite.root, 'expected.json');
    const stopFile = path.join(suite.root, 'reader.stop');
    await fs.writeFile(expectedFile, JSON.stringify(expected));
    const reader: ChildProcess = spawn(
      process.execPath,
      [readerScript, suite.cacheDir, expectedFile, stopFile],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let readerOut = '';
    let readerErr = '';
    reader.stdout!.on('data', (d) => (readerOut += d));
    reader.stderr!.on('data', (d) => (readerErr += d));
    const readerExit = once(reader, 'exit');
    try {
      for (const v of versions) {
        await pushArtifact(suite.registry.url, 'aquasec/trivy-db', '2', v.art);
        const run = await runJob(suite.daemon, 'oci-sync');
        assert.equal(run.status, 'success', run.summary);
        await suite.daemon.waitForLog(
          (l) => l.msg === 'cache part populated' && l.part === 'db' && l.digest === v.art.layer.digest,
          30_000,
        );
      }
      // Forced repopulations of the last version from the CLI while the daemon runs.
      for (let i = 0; i < 2; i++) {
        const r = await runCli(populateDbArgs(suite.cacheDir, path.join(suite.stateDir, 'oci'), '--force'));
        assert.equal(r.code, 0, r.stderr + r.stdout);
      }
    } finally {
      await fs.writeFile(stopFile, '');
      await readerExit;
    }
    assert.equal(readerErr, '');
    const stats = JSON.parse(readerOut) as {
      iterations: number;
      resolvedChecks: number;
      pathChecks: number;
      straddled: number;
      torn: string[];
      missing: string[];
      unknown: string[];
      versions: string[];
    };
    t.diagnostic(`reader: ${JSON.stringify({ ...stats, versions: stats.versions.length })}`);
    assert.deepEqual(stats.torn, [], 'no metadata.json beside a trivy.db of another version');
    assert.deepEqual(stats.missing, [], 'no missing or half-written file');
    assert.deepEqual(stats.unknown, [], 'only versions that were pushed');
    assert.ok(stats.resolvedChecks > 100 && stats.pathChecks > 100, JSON.stringify(stats));
    assert.ok(stats.versions.length >= N / 2, `the reader saw several versions: ${stats.versions.length}`);
    const meta = await readJson(path.join(suite.cacheDir, 'db', 'metadata.json'));
    assert.equal(meta?.UpdatedAt, versions.at(-1)!.updatedAt);
    assert.equal(dbVerdict(meta, true, Date.now(), 'db').skipValid, true);
  });
});

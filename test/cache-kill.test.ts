// End to end: `trivy-mirror populate` killed with SIGKILL while extracting a 1.5 GB trivy.db leaves the
// old version intact; the next populate cleans up the staging leftovers (set-up: a temp dir).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateArtifact, writeArtifactToLayout } from '@trivy-mirror/fixtures';
import { leftovers, MiB, populateDb, populateDbArgs, snapshot } from './helpers/cache-suite.js';
import { daemonBin, repoRoot } from './helpers/daemon-process.js';
import { tempDir } from './helpers/oci-e2e.js';
import { dbVerdict, readJson } from './helpers/trivy-rules.js';

describe('kill -9 during extraction', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let root: string;
  before(async () => {
    tmp = await tempDir('cache-kill');
    root = tmp.dir;
  });
  after(() => tmp?.remove());

  test('the old version stays intact and the next populate cleans the staging leftovers', async () => {
    const store = path.join(root, 'store-kill');
    const cacheDir = path.join(root, 'cache-kill');
    const work = path.join(root, 'work-kill');
    /** A new trivy-db version as the store's trivy-db:2. */
    const storeDbVersion = async (seed: string, dbBytes: number) => {
      const a = await generateArtifact({ kind: 'trivy-db', seed, dbBytes, workDir: work });
      await writeArtifactToLayout(path.join(store, 'trivy-db'), '2', a);
      return a;
    };
    await storeDbVersion('kill-old', 2 * MiB);
    await populateDb(cacheDir, store);
    const old = await snapshot(cacheDir, 'db', 'trivy.db');

    // 1.5 GB trivy.db at the default ratio (a ~160 MB layer), like the real one.
    const big = await storeDbVersion('kill-big', 1536 * MiB);
    await fs.rm(big.layer.path); // only the store copy is needed from here on
    const child = spawn(process.execPath, [daemonBin, ...populateDbArgs(cacheDir, store)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    let stagingFile = '';
    let size = 0;
    const t0 = Date.now();
    while (size < 200 * MiB) {
      assert.ok(child.exitCode === null, 'populate still running');
      assert.ok(Date.now() - t0 < 60_000, 'extraction did not progress');
      const staging = (await leftovers(cacheDir)).find((n) => n.startsWith('.trivy-mirror-staging-db-'));
      if (staging) {
        stagingFile = path.join(cacheDir, staging, 'trivy.db');
        size = await fs.stat(stagingFile).then(
          (s) => s.size,
          () => 0,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    const [, signal] = await exited;
    assert.equal(signal, 'SIGKILL');
    assert.ok(size < 1536 * MiB, 'killed mid-extraction');

    assert.deepEqual(await snapshot(cacheDir, 'db', 'trivy.db'), old, 'the old version is untouched');
    const meta = await readJson(path.join(cacheDir, 'db', 'metadata.json'));
    assert.equal(dbVerdict(meta, true, Date.now(), 'db').skipValid, true);
    assert.equal((await leftovers(cacheDir)).length, 1, 'the killed staging dir is left behind');

    // The next populate (a new small version) cleans up and works.
    const next = await storeDbVersion('kill-next', 2 * MiB);
    await populateDb(cacheDir, store);
    assert.deepEqual(await leftovers(cacheDir), [], 'staging leftovers removed');
    const nextMeta = await readJson(path.join(cacheDir, 'db', 'metadata.json'));
    assert.equal(nextMeta?.UpdatedAt, JSON.parse(next.metadataJson!.toString('utf8')).UpdatedAt);
  });
});

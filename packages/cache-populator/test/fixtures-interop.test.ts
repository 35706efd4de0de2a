// Artifacts from the shared fixture generator (both upstream manifest shapes) populate correctly.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { generateArtifact, writeArtifactToLayout } from '@trivy-mirror/fixtures';
import {
  type ChecksMetadata,
  type DbMetadata,
  checksNeedsUpdate,
  dbNeedsUpdate,
  populateCacheDir,
} from '../src/index.js';
import { tempDir } from './helpers.js';

let work: string;
before(async () => {
  work = await tempDir('fixtures');
});
after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

for (const shape of ['oci-1.1', 'legacy'] as const) {
  test(`generated ${shape} artifacts: db, java-db and checks as Trivy expects`, async () => {
    const store = path.join(work, shape, 'store');
    const cacheDir = path.join(work, shape, 'cache');
    const gen = path.join(work, shape, 'gen');
    const updatedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
    const db = await generateArtifact({
      kind: 'trivy-db',
      shape,
      dbBytes: 256 * 1024,
      updatedAt,
      workDir: gen,
    });
    const jdb = await generateArtifact({
      kind: 'trivy-java-db',
      shape,
      dbBytes: 256 * 1024,
      updatedAt,
      workDir: gen,
    });
    const checks = await generateArtifact({ kind: 'trivy-checks', shape, checksMajor: 2, workDir: gen });
    await writeArtifactToLayout(path.join(store, 'trivy-db'), '2', db);
    await writeArtifactToLayout(path.join(store, 'trivy-java-db'), '1', jdb);
    await writeArtifactToLayout(path.join(store, 'trivy-checks'), '2', checks);

    const result = await populateCacheDir({
      cacheDir,
      parts: ['db', 'java-db', 'checks'],
      source: { kind: 'layout', root: store },
    });
    assert.equal(result.ok, true, JSON.stringify(result.parts.map((p) => p.reason)));
    const now = new Date();

    const meta = JSON.parse(await fs.readFile(path.join(cacheDir, 'db/metadata.json'), 'utf8')) as DbMetadata;
    const upstream = JSON.parse(String(db.metadataJson)) as DbMetadata;
    for (const k of ['Version', 'NextUpdate', 'UpdatedAt'] as const) assert.equal(meta[k], upstream[k], k);
    assert.equal(dbNeedsUpdate(meta, true, now, 'db').download, false);
    assert.equal((await fs.stat(path.join(cacheDir, 'db/trivy.db'))).size, 256 * 1024);

    const jmeta = JSON.parse(
      await fs.readFile(path.join(cacheDir, 'java-db/metadata.json'), 'utf8'),
    ) as DbMetadata;
    assert.equal(jmeta.Version, 1);
    assert.equal(dbNeedsUpdate(jmeta, true, now, 'java-db').skipValid, true);

    const cmeta = JSON.parse(
      await fs.readFile(path.join(cacheDir, 'policy/metadata.json'), 'utf8'),
    ) as ChecksMetadata;
    assert.equal(cmeta.Digest, checks.manifestDigest);
    assert.equal(cmeta.MajorVersion, 2);
    assert.equal(checksNeedsUpdate(cmeta, now).download, false);
    assert.ok((await fs.readdir(path.join(cacheDir, 'policy/content'))).length > 0);
  });
}

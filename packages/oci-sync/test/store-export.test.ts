// `export` writes a tree that is carried across an air gap and read by other tools: it holds the
// layouts (oci-layout, index.json, blobs) and nothing of how they were written (no .tmp/ folders),
// after a first export and after an incremental one.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateArtifact, writeArtifactToLayout } from '@trivy-mirror/fixtures';
import { exportStore } from '../src/store-commands/store-transfer.js';

/** Every file and directory under `root`, relative, sorted. */
async function tree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.map((e) => relative(root, join(e.parentPath, e.name))).sort();
}

const ALLOWED = /^[a-z-]+(\/(oci-layout|index\.json|blobs|blobs\/sha256|blobs\/sha256\/[a-f0-9]{64}))?$/;

describe('exportStore', () => {
  let work: string;
  let store: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'store-export-'));
    store = join(work, 'store');
    for (const [kind, tag] of [
      ['trivy-db', '2'],
      ['trivy-checks', '1'],
    ] as const) {
      const a = await generateArtifact({ kind, dbBytes: 8192, seed: `export-${kind}`, workDir: work });
      await writeArtifactToLayout(join(store, kind), tag, a);
    }
  });
  after(() => rm(work, { recursive: true, force: true }));

  test('the export holds the layouts only: no .tmp/ folders, also after an incremental export', async () => {
    const out = join(work, 'out');
    for (let i = 0; i < 2; i++) {
      const report = await exportStore({ storeRoot: store, outDir: out });
      assert.equal(report.repositories.length, 2);
      const paths = await tree(out);
      const stray = paths.filter((p) => !ALLOWED.test(p));
      assert.deepEqual(stray, [], `export ${i + 1} holds ${stray.join(', ')}`);
      assert.ok(paths.includes('trivy-db/index.json') && paths.includes('trivy-checks/oci-layout'));
    }
  });
});

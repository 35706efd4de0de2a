// WatcherService with real files: unlink seen within ~1 s, events batched, handler never concurrent.
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CacheWatch, WatchChange } from '@trivy-mirror/plugin-api';
import { WatcherService } from '../src/index.js';
import { captureLogger, sleep, tempDir, waitFor } from './helpers.js';

describe('WatcherService', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir('rt-watch-')));
  after(() => cleanup());

  test('calls onChange on unlink within ~1 s, batched, ignoring ignored paths', async () => {
    const root = join(dir, 'cache');
    await mkdir(join(root, 'db'), { recursive: true });
    await mkdir(join(root, '.staging'), { recursive: true });
    for (const f of ['trivy.db', 'metadata.json']) await writeFile(join(root, 'db', f), 'x');
    const batches: WatchChange[][] = [];
    const watch: CacheWatch = {
      id: 'cache',
      paths: () => [root],
      ignored: (p) => p.includes('.staging'),
      debounceMs: 400,
      async onChange(changes) {
        batches.push(changes);
      },
    };
    const service = new WatcherService(captureLogger().logger);
    await service.start([watch]);
    try {
      const t = Date.now();
      await rm(join(root, 'db', 'trivy.db'));
      await rm(join(root, 'db', 'metadata.json'));
      await writeFile(join(root, '.staging', 'tmp'), 'ignored');
      await waitFor(() => batches.length > 0, 2000);
      // ~0.5 s here (100 ms chokidar unlink check + 400 ms window); generous bound for loaded CI machines.
      assert.ok(Date.now() - t < 2000, `took ${Date.now() - t} ms`);
      await sleep(400);
      assert.equal(batches.length, 1, JSON.stringify(batches));
      assert.deepEqual(batches[0].map((c) => `${c.event} ${c.path}`).sort(), [
        `unlink ${join(root, 'db', 'metadata.json')}`,
        `unlink ${join(root, 'db', 'trivy.db')}`,
      ]);
    } finally {
      await service.stop();
    }
  });

  test('never runs onChange concurrently: changes during a run form one follow-up batch', async () => {
    const root = join(dir, 'serial');
    await mkdir(root, { recursive: true });
    let active = 0;
    let maxActive = 0;
    const batches: WatchChange[][] = [];
    const { logger, lines } = captureLogger();
    const service = new WatcherService(logger);
    await service.start([
      {
        id: 'serial',
        paths: () => [root],
        debounceMs: 50,
        async onChange(changes) {
          active++;
          maxActive = Math.max(maxActive, active);
          batches.push(changes);
          await sleep(900);
          active--;
          if (batches.length === 1) throw new Error('first batch fails');
        },
      },
    ]);
    try {
      await writeFile(join(root, 'a'), '1');
      await waitFor(() => batches.length === 1, 2000);
      await writeFile(join(root, 'b'), '1');
      await sleep(60);
      await writeFile(join(root, 'c'), '1');
      await waitFor(() => batches.length === 2, 4000);
      await sleep(1000);
      assert.equal(maxActive, 1);
      assert.equal(batches.length, 2);
      // A new file may show up as 'add' and then 'change'; both are in the follow-up batch.
      assert.deepEqual([...new Set(batches[1].map((c) => c.path))].sort(), [
        join(root, 'b'),
        join(root, 'c'),
      ]);
      const failed = lines.find((l) => l.msg === 'watch handler failed') as
        | { err?: { message: string } }
        | undefined;
      assert.equal(failed?.err?.message, 'first batch fails');
    } finally {
      await service.stop();
    }
  });
});

// A populate killed with SIGKILL mid-extraction leaves the old version intact; the next start removes
// its staging leftovers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { CachePopulatorConfigSchema, CachePopulatorService, populateCacheDir } from '../src/index.js';
import { dbLayer, markerOf, storeArtifact, tempDir, waitFor, zerosDbLayer } from './helpers.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const child = fileURLToPath(new URL('./support/populate-child.ts', import.meta.url));

let work: string;
before(async () => {
  work = await tempDir('crash');
});
after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

test('SIGKILL during extraction: old version intact, leftovers cleaned at the next start', async () => {
  const cacheDir = path.join(work, 'cache');
  const store = path.join(work, 'store');
  await storeArtifact(store, 'trivy-db', '2', await dbLayer({ marker: 'old' }));
  assert.equal(
    (await populateCacheDir({ cacheDir, parts: ['db'], source: { kind: 'layout', root: store } })).ok,
    true,
  );
  // 1.5 GiB of zeros: a few MB in the store, long enough to extract that we can kill it mid-way.
  await storeArtifact(store, 'trivy-db', '2', await zerosDbLayer(1536 * 1024 ** 2, 'new'));

  const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', child, cacheDir, store], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    proc.once('exit', (_code, signal) => resolve(signal)),
  );
  let out = '';
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  try {
    const staged = await waitFor(
      async () => {
        for (const n of await fs.readdir(cacheDir)) {
          if (!n.startsWith('.trivy-mirror-staging-db-')) continue;
          const st = await fs.stat(path.join(cacheDir, n, 'trivy.db')).catch(() => undefined);
          if (st && st.size > 32 * 1024 ** 2) return n;
        }
        return undefined;
      },
      30_000,
      'the child to be mid-extraction',
    );
    proc.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    assert.doesNotMatch(out, /done/, 'killed before it finished');
    assert.ok(staged.includes(`-${proc.pid}-`), 'staging dir names its process');
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }

  // Old version untouched and still the one the link points at.
  assert.equal(markerOf(await fs.readFile(path.join(cacheDir, 'db/trivy.db'))), 'old');
  assert.equal(JSON.parse(await fs.readFile(path.join(cacheDir, 'db/metadata.json'), 'utf8')).Marker, 'old');
  assert.equal((await fs.readdir(cacheDir)).filter((n) => n.startsWith('.trivy-mirror-staging-')).length, 1);

  // The plugin's start cleans leftovers of dead processes.
  const config = CachePopulatorConfigSchema.parse({ targets: [{ dir: cacheDir, include: ['db'] }] });
  const service = new CachePopulatorService(
    config,
    {
      id: 'cache-populator',
      stateDir: work,
      pluginDir: path.join(work, 'plugin'),
      logger: pino({ level: 'silent' }),
      mode: 'daemon',
    },
    {
      clock: { now: () => new Date() },
      events: { emit: () => undefined, on: () => () => undefined },
      store: { layoutPath: (r) => path.join(store, r) },
    },
  );
  await fs.mkdir(path.join(work, 'plugin'), { recursive: true });
  await service.start(new AbortController().signal);
  await service.stop();
  assert.deepEqual(
    (await fs.readdir(cacheDir)).filter((n) => n.startsWith('.trivy-mirror-')),
    [],
  );
  assert.equal(markerOf(await fs.readFile(path.join(cacheDir, 'db/trivy.db'))), 'old');
});

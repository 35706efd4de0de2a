// Readers never see a missing file or a trivy.db and metadata.json of different versions while the
// populator replaces the db 50 times (readers run in worker threads, truly in parallel).
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { cleanupCacheDir, populateCacheDir } from '../src/index.js';
import { dbLayer, listTree, storeArtifact, tempDir } from './helpers.js';

// Two reader styles. 'path': reads metadata, db, metadata again by path; when both metadata reads
// agree no swap completed in between, so the db must carry the same marker. 'realpath': resolves the
// db dir once and reads both files there; they must always match.
const READER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const { dir, mode } = workerData;
let stop = false, reads = 0, torn = 0, missing = 0, raced = 0;
const errors = [];
parentPort.on('message', () => { stop = true; });
function marker(buf) { const nl = buf.indexOf(10); return buf.subarray(7, nl).toString(); }
function loop() {
  for (let i = 0; i < 20 && !stop; i++) {
    try {
      if (mode === 'realpath') {
        const real = fs.realpathSync(path.join(dir, 'db'));
        const m = JSON.parse(fs.readFileSync(path.join(real, 'metadata.json'), 'utf8')).Marker;
        const d = marker(fs.readFileSync(path.join(real, 'trivy.db')));
        if (m !== d) { torn++; errors.push(m + ' vs ' + d); }
      } else {
        const m1 = JSON.parse(fs.readFileSync(path.join(dir, 'db/metadata.json'), 'utf8')).Marker;
        const d = marker(fs.readFileSync(path.join(dir, 'db/trivy.db')));
        const m2 = JSON.parse(fs.readFileSync(path.join(dir, 'db/metadata.json'), 'utf8')).Marker;
        if (m1 === m2) { if (m1 !== d) { torn++; errors.push(m1 + ' vs ' + d); } } else raced++;
      }
      reads++;
    } catch (err) { missing++; errors.push(String(err && err.message)); }
  }
  if (stop) parentPort.postMessage({ reads, torn, missing, raced, errors: errors.slice(0, 5) });
  else setImmediate(loop);
}
loop();
`;

let work: string;
before(async () => {
  work = await tempDir('swap');
});
after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

test('50 repopulations under concurrent readers: no torn pair, no missing file', async (t) => {
  const store = path.join(work, 'store');
  const cacheDir = path.join(work, 'cache');
  const layers: Buffer[] = [];
  for (let i = 0; i < 50; i++) {
    layers.push(
      await dbLayer({
        marker: `v${i}`,
        updatedAt: new Date(Date.UTC(2026, 0, 1, 0, i)),
        dbBytes: 256 * 1024,
      }),
    );
  }
  await storeArtifact(store, 'trivy-db', '2', layers[0]);
  const first = await populateCacheDir({ cacheDir, parts: ['db'], source: { kind: 'layout', root: store } });
  assert.equal(first.ok, true);

  const workers = (['path', 'realpath'] as const).map(
    (mode) => new Worker(READER, { eval: true, workerData: { dir: cacheDir, mode } }),
  );
  const results = workers.map(
    (w) =>
      new Promise<{ reads: number; torn: number; missing: number; raced: number; errors: string[] }>(
        (resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        },
      ),
  );
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 1; i < 50; i++) {
    await storeArtifact(store, 'trivy-db', '2', layers[i]);
    const r = await populateCacheDir({ cacheDir, parts: ['db'], source: { kind: 'layout', root: store } });
    assert.equal(r.parts[0].status, 'populated', r.parts[0].reason);
  }
  for (const w of workers) w.postMessage('stop');
  const [byPath, byRealpath] = await Promise.all(results);
  await Promise.all(workers.map((w) => w.terminate()));

  for (const [name, r] of [
    ['path', byPath],
    ['realpath', byRealpath],
  ] as const) {
    t.diagnostic(`${name} reader: ${r.reads} reads, ${r.raced} straddled a swap`);
    assert.ok(r.reads > 50, `${name} reader made only ${r.reads} reads`);
    assert.equal(r.missing, 0, `${name}: ${r.errors.join('; ')}`);
    assert.equal(r.torn, 0, `${name}: ${r.errors.join('; ')}`);
  }
  const meta = JSON.parse(await fs.readFile(path.join(cacheDir, 'db/metadata.json'), 'utf8'));
  assert.equal(meta.Marker, 'v49');

  // Retired versions stay for the grace period, then go; the current one stays.
  const versionsBefore = (await fs.readdir(path.join(cacheDir, '.trivy-mirror'))).filter((n) =>
    n.startsWith('db-'),
  );
  assert.equal(versionsBefore.length, 50);
  await cleanupCacheDir(cacheDir, { graceMs: 60_000 });
  assert.equal(
    (await fs.readdir(path.join(cacheDir, '.trivy-mirror'))).filter((n) => n.startsWith('db-')).length,
    50,
  );
  await cleanupCacheDir(cacheDir, { graceMs: 0, now: new Date(Date.now() + 1000) });
  const left = (await listTree(cacheDir)).filter((n) => /^\.trivy-mirror\/db-[^/]+$/.test(n));
  assert.equal(left.length, 1);
  assert.equal(JSON.parse(await fs.readFile(path.join(cacheDir, 'db/metadata.json'), 'utf8')).Marker, 'v49');
});

test('cleanup removes state-record temp files of dead writers and keeps those of live ones', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cache-cleanup-tmp-'));
  try {
    const state = path.join(dir, '.trivy-mirror');
    await fs.mkdir(state, { recursive: true });
    const dead = path.join(state, '.state-db.json.tmp-99999999-00f4b003');
    const legacy = path.join(state, '.state-db.json.tmp-00f4b003');
    const live = path.join(state, `.state-java-db.json.tmp-${process.pid}-0a0b0c0d`);
    for (const f of [dead, legacy, live]) await fs.writeFile(f, '{');
    const { removed } = await cleanupCacheDir(dir, { graceMs: 60_000 });
    assert.ok(removed.includes(dead) && removed.includes(legacy), removed.join(', '));
    await assert.rejects(fs.stat(dead));
    await assert.rejects(fs.stat(legacy));
    await fs.stat(live);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

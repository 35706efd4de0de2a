// A separate process that reads a Trivy cache dir's db/ in a tight loop while the daemon swaps
// versions, the way scanners do, and reports every torn pair (metadata.json of one version beside
// trivy.db of another) or missing file. Plain JS so it starts fast with no loader.
//   node cache-pair-reader.mjs CACHE_DIR EXPECTED_JSON STOP_FILE
// EXPECTED_JSON: { "<UpdatedAt>": "<hex of trivy.db's first 16 bytes>", ... }, re-read when it changes.
// On STOP_FILE it prints one JSON line with counters and exits.
import { existsSync, openSync, readFileSync, readSync, closeSync, fstatSync, realpathSync } from 'node:fs';
import path from 'node:path';

const [cacheDir, expectedFile, stopFile] = process.argv.slice(2);
let expected = {};
const stats = {
  iterations: 0,
  resolvedChecks: 0,
  pathChecks: 0,
  straddled: 0,
  torn: [],
  missing: [],
  unknown: [],
  versions: [],
};
const versions = new Set();

function loadExpected() {
  try {
    expected = JSON.parse(readFileSync(expectedFile, 'utf8'));
  } catch {
    // being rewritten: keep the old map
  }
}

function marker(file) {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(16);
    readSync(fd, buf, 0, 16, 0);
    return { hex: buf.toString('hex'), size: fstatSync(fd).size };
  } finally {
    closeSync(fd);
  }
}

function note(list, what) {
  if (list.length < 20) list.push(what);
}

function check(updatedAt, db, how) {
  versions.add(updatedAt);
  const want = expected[updatedAt];
  if (want === undefined) {
    loadExpected();
    if (expected[updatedAt] === undefined) return note(stats.unknown, `${how}: UpdatedAt ${updatedAt}`);
  }
  if (expected[updatedAt] !== db.hex) note(stats.torn, `${how}: UpdatedAt ${updatedAt} beside db ${db.hex}`);
}

const pause = new Int32Array(new SharedArrayBuffer(4));
loadExpected();
while (!existsSync(stopFile)) {
  // A short pause keeps this from owning a core on a shared machine; still hundreds of reads a second.
  Atomics.wait(pause, 0, 0, 1);
  stats.iterations++;
  const dbDir = path.join(cacheDir, 'db');
  // 1. Resolve the directory once (as a reader holding the dir, or bbolt's open fd): the pair must match.
  try {
    const real = realpathSync(dbDir);
    const meta = JSON.parse(readFileSync(path.join(real, 'metadata.json'), 'utf8'));
    const db = marker(path.join(real, 'trivy.db'));
    check(meta.UpdatedAt, db, 'resolved');
    stats.resolvedChecks++;
  } catch (err) {
    note(stats.missing, `resolved: ${err.code ?? err.message}`);
  }
  // 2. Trivy-like separate path lookups: metadata.json, trivy.db, metadata.json again. When both
  // metadata reads agree no swap happened in between, so the db must belong to them.
  try {
    const m1 = readFileSync(path.join(dbDir, 'metadata.json'), 'utf8');
    const db = marker(path.join(dbDir, 'trivy.db'));
    const m2 = readFileSync(path.join(dbDir, 'metadata.json'), 'utf8');
    const a = JSON.parse(m1);
    const b = JSON.parse(m2);
    if (a.UpdatedAt === b.UpdatedAt) {
      check(a.UpdatedAt, db, 'by path');
      stats.pathChecks++;
    } else stats.straddled++;
  } catch (err) {
    note(stats.missing, `by path: ${err.code ?? err.message}`);
  }
}
stats.versions = [...versions];
process.stdout.write(`${JSON.stringify(stats)}\n`);

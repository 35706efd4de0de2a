// BlobVerifications: one hash per file version, shared by concurrent callers; a write, a replacement
// or the end of the trust period makes a version unknown again; the cache is bounded.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, open, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BlobVerifications, fileVersion } from '../src/serve/blob-verification.js';

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let dir: string;

before(async () => (dir = await mkdtemp(join(tmpdir(), 'blob-verification-'))));
after(() => rm(dir, { recursive: true, force: true }));

async function versionOf(path: string) {
  const fh = await open(path, 'r');
  const st = await fh.stat({ bigint: true });
  return { fh, version: fileVersion(st), size: Number(st.size) };
}

test('a good file is known after one hash; concurrent callers share the run', async () => {
  const path = join(dir, 'good');
  const bytes = Buffer.alloc(3 * 1024 * 1024 + 7, 'a');
  await writeFile(path, bytes);
  const v = new BlobVerifications();
  const { fh, version, size } = await versionOf(path);
  try {
    assert.equal(v.known('k', version), undefined);
    const a = v.verify('k', version, fh, size, sha256(bytes));
    const b = v.verify('k', version, fh, size, sha256(bytes));
    assert.equal(a, b, 'one run for one version');
    assert.deepEqual(await a, { ok: true });
    assert.deepEqual(v.known('k', version), { ok: true });
  } finally {
    await fh.close();
  }
});

test('a bad file gets a verdict naming what it hashes to', async () => {
  const path = join(dir, 'bad');
  await writeFile(path, 'hello');
  const v = new BlobVerifications();
  const { fh, version, size } = await versionOf(path);
  try {
    const verdict = await v.verify('k', version, fh, size, sha256('other'));
    assert.equal(verdict.ok, false);
    assert.match(
      (verdict as { reason: string }).reason,
      new RegExp(`hashes to ${sha256('hello')} \\(5 bytes\\)`),
    );
    assert.deepEqual(v.known('k', version), verdict);
  } finally {
    await fh.close();
  }
});

test('a write into the file, even with its mtime put back, makes the version unknown', async () => {
  const path = join(dir, 'edited');
  await writeFile(path, 'content');
  const before = await versionOf(path);
  await before.fh.close();
  const fh = await open(path, 'r+');
  const st = await fh.stat();
  await fh.write(Buffer.from('C'), 0, 1, 0);
  await fh.close();
  await utimes(path, st.atime, st.mtime);
  const after = await versionOf(path);
  await after.fh.close();
  assert.notEqual(after.version, before.version);
});

test('a good verdict expires after the trust period; the cache is bounded', async () => {
  let now = 0;
  const v = new BlobVerifications({ trustMs: 1000, maxEntries: 2, now: () => now });
  const path = join(dir, 'small');
  await writeFile(path, 'x');
  const { fh, version, size } = await versionOf(path);
  try {
    for (const key of ['a', 'b', 'c']) await v.verify(key, version, fh, size, sha256('x'));
    assert.equal(v.known('a', version), undefined, 'evicted');
    assert.deepEqual(v.known('c', version), { ok: true });
    now = 1001;
    assert.equal(v.known('c', version), undefined, 'expired');
  } finally {
    await fh.close();
  }
});

// The index.json lock across processes: concurrent writers lose no entry, a dead holder's lock is
// taken over, a live one is waited for and then named.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isOciError, LAYOUT_LOCK_FILE, OciErrorCode, OciLayout, withLayoutLock } from '@trivy-mirror/oci';

const WRITER = fileURLToPath(new URL('./layout-lock-writer.ts', import.meta.url));

function writer(dir: string, name: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', WRITER, dir, name, String(count)],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`writer ${name} exited ${code}: ${err}`)),
    );
  });
}

/** A pid that is not running: a child's that has exited. */
const deadPid = () =>
  new Promise<number>((resolve) => {
    const c = spawn(process.execPath, ['-e', '0']);
    c.on('exit', () => resolve(c.pid!));
  });

const gone = (path: string) =>
  access(path).then(
    () => false,
    () => true,
  );

describe('layout index lock', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'layout-lock-test-'));
  });
  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  test('four processes updating one index.json at once lose no entry', async () => {
    const dir = join(root, 'concurrent');
    await OciLayout.open(dir, { create: true });
    const names = ['a', 'b', 'c', 'd'];
    await Promise.all(names.map((n) => writer(dir, n, 30)));
    const tags = await (await OciLayout.open(dir)).tags();
    const want = names.flatMap((n) => Array.from({ length: 30 }, (_, i) => `${n}-${i}`));
    assert.deepEqual([...tags].sort(), want.sort());
    assert.ok(await gone(join(dir, LAYOUT_LOCK_FILE)), 'the lock file is removed after the last update');
  });

  test('a lock whose holder died is taken over at once', async () => {
    const dir = join(root, 'dead');
    const layout = await OciLayout.open(dir, { create: true });
    const dead = await deadPid();
    await writeFile(join(dir, LAYOUT_LOCK_FILE), JSON.stringify({ pid: dead, host: hostname(), token: 'x' }));
    const started = Date.now();
    await layout.indexUpdate((m) => m);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.ok(await gone(join(dir, LAYOUT_LOCK_FILE)));
  });

  test('a lock that names no holder (empty after a power loss, or junk) is taken over at once', async () => {
    const dir = join(root, 'junk');
    const layout = await OciLayout.open(dir, { create: true });
    for (const content of ['', '{"pid":']) {
      await writeFile(join(dir, LAYOUT_LOCK_FILE), content);
      const started = Date.now();
      await layout.indexUpdate((m) => m);
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
      assert.ok(await gone(join(dir, LAYOUT_LOCK_FILE)));
    }
  });

  test('a live holder is waited for, then named in LAYOUT_LOCKED', async () => {
    const dir = join(root, 'live');
    await OciLayout.open(dir, { create: true });
    const lock = join(dir, LAYOUT_LOCK_FILE);
    // this test's parent: alive, on this host, not this process
    await writeFile(lock, JSON.stringify({ pid: process.ppid, host: hostname(), token: 'theirs' }));
    const started = Date.now();
    await assert.rejects(
      withLayoutLock(dir, async () => assert.fail('ran while another process held the lock'), {
        waitMs: 300,
      }),
      (err: unknown) => {
        assert.ok(isOciError(err) && err.code === OciErrorCode.LAYOUT_LOCKED, String(err));
        assert.match((err as Error).message, new RegExp(`pid ${process.ppid}`));
        assert.match((err as Error).message, /index\.json\.lock/);
        return true;
      },
    );
    assert.ok(Date.now() - started >= 300);
    assert.equal(await gone(lock), false, "another process's live lock is left alone");

    // once the holder lets go, the waiter goes on
    const waiting = withLayoutLock(dir, async () => 'ran', { waitMs: 5000 });
    setTimeout(() => void rm(lock), 150);
    assert.equal(await waiting, 'ran');
  });

  test('a dry-run gc changes nothing, so it neither waits for the lock file nor writes one', async () => {
    const dir = join(root, 'dry-gc');
    const layout = await OciLayout.open(dir, { create: true });
    const lock = join(dir, LAYOUT_LOCK_FILE);
    const theirs = JSON.stringify({ pid: process.ppid, host: hostname(), token: 'theirs' });
    await writeFile(lock, theirs);
    const started = Date.now();
    assert.deepEqual(await layout.gc({ dryRun: true, graceMs: 0 }), { removed: [], bytes: 0 });
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.equal(await readFile(lock, 'utf8'), theirs);
  });

  test('a lock untouched for minutes (a holder on another host that is gone) is taken over', async () => {
    const dir = join(root, 'foreign');
    await OciLayout.open(dir, { create: true });
    const lock = join(dir, LAYOUT_LOCK_FILE);
    await writeFile(lock, JSON.stringify({ pid: 1, host: 'elsewhere.example', token: 'old' }));
    const old = new Date(Date.now() - 10 * 60_000);
    await utimes(lock, old, old);
    assert.equal(await withLayoutLock(dir, async () => 'ran', { waitMs: 1000 }), 'ran');
    assert.ok(await gone(lock));

    // a fresh one from another host is live: waited for
    await writeFile(lock, JSON.stringify({ pid: 1, host: 'elsewhere.example', token: 'new' }));
    await assert.rejects(
      withLayoutLock(dir, async () => 'ran', { waitMs: 200 }),
      /held by pid 1 on elsewhere\.example/,
    );
  });

  test("cleanTemp removes what a process killed while taking or taking over the lock left, not a live one's", async () => {
    const dir = join(root, 'aside');
    const layout = await OciLayout.open(dir, { create: true });
    const dead = await deadPid();
    const deadAside = join(dir, `${LAYOUT_LOCK_FILE}.stale.${dead}`);
    const liveAside = join(dir, `${LAYOUT_LOCK_FILE}.stale.${process.ppid}`);
    // the lock's content written beside it before the link, by a process killed in between
    const deadNew = join(dir, `${LAYOUT_LOCK_FILE}.new.${dead}.0a1b2c3d`);
    const liveNew = join(dir, `${LAYOUT_LOCK_FILE}.new.${process.ppid}.0a1b2c3d`);
    for (const f of [deadAside, liveAside, deadNew, liveNew]) await writeFile(f, '{}');
    await layout.cleanTemp();
    assert.ok(await gone(deadAside));
    assert.ok(await gone(deadNew));
    assert.equal(await gone(liveAside), false);
    assert.equal(await gone(liveNew), false);
  });
});

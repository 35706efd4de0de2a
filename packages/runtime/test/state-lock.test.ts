// The state-dir lock: one holder, a dead holder's lock taken over, another host's lock never while it is
// touched, a lock naming a reused pid (another process, another boot, untouched) taken over.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { acquireStateLock, STATE_LOCK_FILE } from '../src/index.js';
import { processStart } from '../src/process/process-identity.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'trivy-mirror-lock-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a held lock refuses a second holder, naming the lock file and the pid; release frees it', () =>
  withDir(async (dir) => {
    const lock = await acquireStateLock(dir);
    assert.equal(JSON.parse(await readFile(lock.path, 'utf8')).pid, process.pid);
    await assert.rejects(acquireStateLock(dir), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'STATE_DIR_LOCKED');
      assert.ok(err.message.includes(join(dir, STATE_LOCK_FILE)), err.message);
      assert.ok(err.message.includes(`pid ${process.pid}`), err.message);
      return true;
    });
    lock.release();
    await assert.rejects(stat(lock.path));
    (await acquireStateLock(dir)).release();
  }));

test("a dead holder's lock is taken over; one from another host only once it is 5 min untouched", () =>
  withDir(async (dir) => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(join(dir, STATE_LOCK_FILE), `${dead}\n`);
    const lock = await acquireStateLock(dir);
    assert.equal(lock.tookOverFrom?.pid, dead);
    lock.release();
    const foreign = join(dir, STATE_LOCK_FILE);
    await writeFile(foreign, JSON.stringify({ pid: dead, host: 'other-host.example' }));
    await assert.rejects(
      acquireStateLock(dir),
      /in use by another trivy-mirror daemon \(pid \d+ on other-host\.example/,
    );
    // untouched for 10 min: its holder (a container before its restart, a dead host) is gone
    const old = new Date(Date.now() - 10 * 60_000);
    await utimes(foreign, old, old);
    const taken = await acquireStateLock(dir);
    assert.equal(taken.tookOverFrom?.host, 'other-host.example');
    taken.release();
  }));

test('the lock appears whole; what a daemon killed while taking it left is removed by the next', () =>
  withDir(async (dir) => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const leftovers = [`${STATE_LOCK_FILE}.new.${dead}.1a2b3c4d`, `${STATE_LOCK_FILE}.stale.${dead}`];
    const live = `${STATE_LOCK_FILE}.new.${process.ppid}.1a2b3c4d`;
    for (const f of [...leftovers, live]) await writeFile(join(dir, f), '{}');
    const lock = await acquireStateLock(dir);
    assert.equal(JSON.parse(await readFile(lock.path, 'utf8')).pid, process.pid);
    assert.deepEqual((await readdir(dir)).sort(), [STATE_LOCK_FILE, live].sort());
    lock.release();
  }));

test('a live pid reused after a reboot or restart: stale when untouched, or when its start time differs', () =>
  withDir(async (dir) => {
    // A live process that is no trivy-mirror: what a reused pid names.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      const pid = other.pid!;
      const file = join(dir, STATE_LOCK_FILE);
      // An old lock (no boot id, no start time) naming it, untouched for 10 min: taken over.
      await writeFile(file, JSON.stringify({ pid, host: hostname(), since: '2020-01-01T00:00:00Z' }));
      const old = new Date(Date.now() - 10 * 60_000);
      await utimes(file, old, old);
      const lock = await acquireStateLock(dir);
      assert.equal(lock.tookOverFrom?.pid, pid);
      lock.release();
      // Fresh, but written by another process with that pid (its start time differs): taken over.
      await writeFile(file, JSON.stringify({ pid, host: hostname(), since: '', start: '1' }));
      const again = await acquireStateLock(dir);
      assert.equal(again.tookOverFrom?.pid, pid);
      const mine = JSON.parse(await readFile(again.path, 'utf8')) as { start?: string; boot?: string };
      if (process.platform === 'linux') assert.match(mine.start ?? '', /^\d+$/, 'records its start time');
      again.release();
      // Another boot's lock: taken over.
      await writeFile(file, JSON.stringify({ pid, host: hostname(), since: '', boot: 'another-boot' }));
      (await acquireStateLock(dir)).release();
      // Fresh and naming that very process (same start time): live, start-up stops.
      await writeFile(file, JSON.stringify({ pid, host: hostname(), since: '', ...identityOf(pid) }));
      await assert.rejects(acquireStateLock(dir), /in use by another trivy-mirror daemon/);
      // The same 10 min later (its holder stopped touching it): taken over.
      await utimes(file, old, old);
      (await acquireStateLock(dir)).release();
    } finally {
      other.kill();
    }
  }));

function identityOf(pid: number): { start?: string } {
  return { start: processStart(pid) };
}

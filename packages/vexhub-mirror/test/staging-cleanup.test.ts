// Staging folders under repositories/NAME/tmp: cleanTemp removes what dead processes (a SIGKILLed
// import), this process's finished work and old layouts left, and keeps what a live process stages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { STAGING_MAX_AGE_MS, VersionStore } from '../src/versions/version-store.js';

describe('VersionStore staging', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'vex-staging-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('cleanTemp keeps live processes’ and its own staging in use, removes the rest', async () => {
    const store = new VersionStore(dir, 'vexhub');
    const tmp = path.join(store.dir, 'tmp');
    // a pid that surely is gone: a child that has exited
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const now = Date.now();
    const names = {
      live: `${process.ppid}-${now}-aaaaaaaa`,
      dead: `${dead}-${now}-bbbbbbbb`,
      // this pid, but not staged by this process: an earlier process with the same pid
      mineStale: `${process.pid}-${now}-cccccccc`,
      old: `${now - 60_000}-dddddddd`,
      tooOld: `${process.ppid}-${now - STAGING_MAX_AGE_MS - 1}-eeeeeeee`,
    };
    for (const n of Object.values(names)) await mkdir(path.join(tmp, n, 'tree'), { recursive: true });
    const inUse = await store.stagingDir();
    const removed = await store.cleanTemp();
    assert.deepEqual(removed.sort(), [names.dead, names.mineStale, names.old, names.tooOld].sort());
    assert.deepEqual((await readdir(tmp)).sort(), [names.live, path.basename(inUse)].sort());
    // once removed (or committed) it is no longer in use: a later clean would take a leftover of it
    await store.stagingRemove(inUse);
    await mkdir(inUse);
    assert.deepEqual(await store.cleanTemp(), [path.basename(inUse)]);
    const committed = await store.stagingDir();
    await store.commitVersion(committed, 'a'.repeat(64));
    assert.deepEqual(await readdir(tmp), [names.live]);
  });
});

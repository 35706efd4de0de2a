// StatusHistory: survives a reopen, skips a torn last line, stays bounded after 10,000 runs.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { StatusHistory } from '../src/status/status-history.js';

describe('status history (stateDir/history.jsonl)', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'tm-history-'));
    dirs.push(d);
    return d;
  };
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('entries survive a reopen (a restart) and a torn last line is skipped', async () => {
    const file = join(await tempDir(), 'history.jsonl');
    const now = new Date('2026-12-02T12:00:00Z');
    const h = new StatusHistory(file, { now: () => now });
    await h.record({ t: '2026-12-02T10:00:00.000Z', job: 'oci-sync', status: 'success', bytes: 10 });
    await h.record({
      t: '2026-12-02T11:00:00.000Z',
      job: 'oci-sync',
      status: 'failure',
      code: 'SYNC_FAILED',
    });
    await appendFile(file, '{"t":"2026-12-02T11:30:00.000Z","job":"oci-s'); // a crash mid-append
    const again = new StatusHistory(file, { now: () => now });
    await again.load();
    assert.deepEqual(
      again.entries().map((e) => [e.job, e.status, e.code]),
      [
        ['oci-sync', 'success', undefined],
        ['oci-sync', 'failure', 'SYNC_FAILED'],
      ],
    );
  });

  test('entries older than the retention window are not shown and are dropped on rewrite', async () => {
    const file = join(await tempDir(), 'history.jsonl');
    const now = new Date('2026-12-20T00:00:00Z');
    const h = new StatusHistory(file, { now: () => now, maxEntries: 4 });
    await h.record({ t: '2026-12-01T00:00:00.000Z', job: 'old', status: 'success' });
    for (let i = 0; i < 6; i++) await h.record({ t: now.toISOString(), job: `j${i}`, status: 'success' });
    assert.ok(!h.entries().some((e) => e.job === 'old'));
    assert.ok(!(await readFile(file, 'utf8')).includes('"old"'));
  });

  test('10,000 recorded runs leave the file under its size bound, newest kept, no temp files', async () => {
    const dir = await tempDir();
    const file = join(dir, 'history.jsonl');
    let clock = Date.parse('2026-12-01T00:00:00Z');
    const h = new StatusHistory(file, { now: () => new Date(clock), maxEntries: 500 });
    let maxSize = 0;
    for (let i = 0; i < 10_000; i++) {
      clock += 60_000;
      await h.record({
        t: new Date(clock).toISOString(),
        job: i % 3 === 0 ? 'oci-sync' : 'cache-populator',
        status: i % 7 === 0 ? 'failure' : 'success',
        ms: 1234,
        bytes: 98_304,
        ages: { 'trivy-db:2': 3600 + i, 'trivy-java-db:1': 7200 + i },
      });
      if (i % 250 === 0) maxSize = Math.max(maxSize, (await stat(file)).size);
    }
    const size = (await stat(file)).size;
    maxSize = Math.max(maxSize, size);
    assert.ok(maxSize <= h.maxBytes, `history grew to ${maxSize} bytes (bound ${h.maxBytes})`);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    assert.ok(lines.length <= 750, `${lines.length} lines`);
    const reopened = new StatusHistory(file, { now: () => new Date(clock), maxEntries: 500 });
    await reopened.load();
    const entries = reopened.entries();
    assert.equal(entries.at(-1)!.t, new Date(clock).toISOString(), 'the newest run is kept');
    assert.ok(entries.length >= 500 && entries.length <= 750, `${entries.length} entries`);
    assert.deepEqual((await readdir(dir)).sort(), ['history.jsonl'], 'no temp files left');
  });
});

// DurableFileWriter: batched positional writes with background fdatasync must give a byte-exact file
// and surface write errors instead of losing them.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DurableFileWriter } from '../src/disk/durable-file-writer.js';

describe('DurableFileWriter', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'durable-writer-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('chunks of every size end up byte-exact, with background syncs along the way', async () => {
    const file = path.join(dir, 'big.bin');
    const fh = await fs.open(file, 'wx');
    // Small batch and sync intervals so a 12 MiB file crosses many of both.
    const writer = new DurableFileWriter(fh, { batchBytes: 256 * 1024, syncEveryBytes: 1024 * 1024 });
    const hash = createHash('sha256');
    let total = 0;
    const sizes = [1, 0, 7, 4096, 65_536, 300_000, 1024 * 1024, 3 * 1024 * 1024 + 5];
    try {
      for (let i = 0; total < 12 * 1024 * 1024; i++) {
        const chunk = randomBytes(sizes[i % sizes.length]);
        hash.update(chunk);
        total += chunk.length;
        await writer.write(chunk);
      }
      await writer.finish();
    } finally {
      await writer.settle();
      await fh.close();
    }
    assert.equal(writer.bytes, total);
    const data = await fs.readFile(file);
    assert.equal(data.length, total);
    assert.equal(createHash('sha256').update(data).digest('hex'), hash.digest('hex'));
  });

  test('a failing write is thrown, not swallowed', async () => {
    const file = path.join(dir, 'ro.bin');
    await fs.writeFile(file, '');
    const fh = await fs.open(file, 'r');
    const writer = new DurableFileWriter(fh, { batchBytes: 1024 });
    try {
      await assert.rejects(async () => {
        for (let i = 0; i < 8; i++) await writer.write(Buffer.alloc(1024, i));
        await writer.finish();
      }, /EBADF/);
    } finally {
      await writer.settle();
      await fh.close();
    }
  });
});

// The download tee on real streams: identical bytes to every branch, the slowest branch paces the
// source (bounded buffering), a failed optional branch is dropped, a failed required one (or the
// source) fails every branch, and a stalled optional branch is cut off.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { TEE_BRANCH_BYTES, teeStream } from '../src/destinations/stream-tee.js';

const CHUNK = 64 * 1024;

/** A source of `chunks` deterministic chunks that counts what it has produced. */
function countingSource(chunks: number, failAt?: number) {
  const state = { produced: 0 };
  let i = 0;
  const stream = new Readable({
    highWaterMark: CHUNK,
    read() {
      if (failAt !== undefined && i === failAt) {
        this.destroy(new Error('upstream broke'));
        return;
      }
      if (i >= chunks) {
        this.push(null);
        return;
      }
      const buf = Buffer.alloc(CHUNK, i++ % 251);
      state.produced += buf.length;
      this.push(buf);
    },
  });
  return { stream, state };
}

function hashSink(delayMs = 0, onChunk?: (n: number) => void) {
  const hash = createHash('sha256');
  let bytes = 0;
  const sink = new Writable({
    highWaterMark: CHUNK,
    write(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      onChunk?.(bytes);
      if (delayMs > 0) setTimeout(cb, delayMs);
      else cb();
    },
  });
  return { sink, result: () => ({ bytes, digest: hash.digest('hex') }) };
}

describe('teeStream', () => {
  test('every branch gets the same bytes; the slowest one paces the source', async () => {
    const { stream, state } = countingSource(160); // 10 MiB
    const [fast, slow] = teeStream(stream, [{ critical: true }, {}]);
    let maxAhead = 0;
    const a = hashSink();
    const b = hashSink(1, (consumed) => {
      maxAhead = Math.max(maxAhead, state.produced - consumed);
    });
    await Promise.all([pipeline(fast, a.sink), pipeline(slow, b.sink)]);
    const ra = a.result();
    const rb = b.result();
    assert.equal(ra.bytes, 160 * CHUNK);
    assert.deepEqual(rb, ra);
    // the source never ran further ahead of the slow reader than the branch's buffers and a few chunks
    assert.ok(maxAhead <= 2 * TEE_BRANCH_BYTES + 8 * CHUNK, `source ran ${maxAhead} bytes ahead`);
  });

  test('an optional branch that fails is dropped; the others complete', async () => {
    const { stream } = countingSource(64);
    const [store, dest, meta] = teeStream(stream, [{ critical: true }, {}, {}]);
    const a = hashSink();
    const broken = new Writable({
      write(_chunk, _enc, cb) {
        cb(new Error('destination reset'));
      },
    });
    const results = await Promise.allSettled([
      pipeline(store, a.sink),
      pipeline(dest, broken),
      // a reader that stops after its first chunk (metadata found)
      (async () => {
        for await (const _ of meta) break;
      })(),
    ]);
    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    assert.equal(results[2].status, 'fulfilled');
    assert.equal(a.result().bytes, 64 * CHUNK);
  });

  test('a required branch that fails fails the source and every other branch', async () => {
    const { stream, state } = countingSource(1000);
    const [store, dest] = teeStream(stream, [{ critical: true }, {}]);
    const b = hashSink();
    const failing = new Writable({
      write(_chunk, _enc, cb) {
        cb(new Error('disk full'));
      },
    });
    const [r1, r2] = await Promise.allSettled([pipeline(store, failing), pipeline(dest, b.sink)]);
    assert.equal(r1.status, 'rejected');
    assert.equal(r2.status, 'rejected');
    assert.ok(stream.destroyed);
    assert.ok(state.produced < 1000 * CHUNK, 'the source was not read to the end');
  });

  test('a source error reaches every branch; none of them ends normally', async () => {
    const { stream } = countingSource(100, 30);
    const branches = teeStream(stream, [{ critical: true }, {}, {}]);
    const results = await Promise.allSettled(branches.map((b) => pipeline(b, hashSink().sink)));
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.match(String((r as PromiseRejectedResult).reason), /upstream broke/);
    }
  });

  test('an optional branch nobody reads is cut off after stallMs; the rest completes', async () => {
    const { stream } = countingSource(64);
    const [store, stuck] = teeStream(stream, [{ critical: true }, { stallMs: 200 }]);
    const a = hashSink();
    const stuckClosed = new Promise<unknown>((resolve) => stuck.once('close', () => resolve(stuck.errored)));
    await pipeline(store, a.sink);
    assert.equal(a.result().bytes, 64 * CHUNK);
    assert.match(String(await stuckClosed), /stalled/);
    await sleep(10);
  });
});

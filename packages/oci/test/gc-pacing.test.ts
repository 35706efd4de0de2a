// Bulk streams scavenge every 16 MiB: the Buffers they drop are freed while young, instead of
// piling up until external memory forces full mark-compacts.
import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { test } from 'node:test';
import { noteStreamedBytes, SCAVENGE_EVERY_BYTES, v8Gc } from '../src/gc.js';

const minorGcs = async (work: () => void): Promise<number> => {
  let minors = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minors++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  work();
  // gc entries are delivered asynchronously
  await new Promise((r) => setTimeout(r, 50));
  observer.disconnect();
  return minors;
};

test('v8Gc gives the gc function without --expose-gc on the command line', () => {
  assert.equal(typeof v8Gc(), 'function');
});

test('noteStreamedBytes runs one scavenge per 16 MiB streamed (256 MiB: 16)', async () => {
  const chunk = 64 * 1024;
  const chunks = (16 * SCAVENGE_EVERY_BYTES) / chunk;
  // the same loop without the pacer: the scavenges the process makes on its own meanwhile
  const natural = await minorGcs(() => {
    for (let n = 0; n < chunks; n++) noteStreamedBytes(0);
  });
  const paced = await minorGcs(() => {
    for (let n = 0; n < chunks; n++) noteStreamedBytes(chunk);
  });
  assert.ok(paced >= 16, `256 MiB: ${paced} scavenges, at least 16 expected`);
  assert.ok(paced >= natural + 12, `256 MiB: ${paced} scavenges, ${natural} without the pacer`);
});

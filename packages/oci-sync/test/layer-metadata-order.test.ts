// readLayerMetadata finds metadata.json wherever the tarball has it (first, as some builders write it,
// or last, after the db, as trivy-db's and trivy-java-db's do) and says undefined when there is none;
// the db entry is larger than the 16 MiB between two scavenges, so the GC pacing runs on the way.
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import tar from 'tar-stream';
import { readLayerMetadata } from '../src/metadata/layer-metadata.js';

const METADATA = { Version: 2, NextUpdate: '2026-10-02T06:00:00Z', UpdatedAt: '2026-10-01T06:00:00Z' };
const DB_BYTES = 20 * 1024 * 1024 + 123;

type Entry = 'metadata.json' | './metadata.json' | 'trivy.db';

/** A tar.gz layer of `entries`, in that order, written to `path`. */
async function writeLayer(path: string, entries: Entry[]): Promise<void> {
  const pack = tar.pack();
  const gz: Buffer[] = [];
  const collected = pipeline(
    pack,
    createGzip({ level: 1 }),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        gz.push(chunk);
        cb();
      },
    }),
  );
  for (const name of entries) {
    const body = name === 'trivy.db' ? Buffer.alloc(DB_BYTES, 7) : Buffer.from(JSON.stringify(METADATA));
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name, size: body.length }, body, (err) => (err ? reject(err) : resolve())),
    );
  }
  pack.finalize();
  await collected;
  await writeFile(path, Buffer.concat(gz));
}

describe('readLayerMetadata: where metadata.json is', () => {
  let work: string;
  const expected = { version: 2, updatedAt: METADATA.UpdatedAt, nextUpdate: METADATA.NextUpdate };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'oci-sync-meta-order-'));
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const cases: { title: string; entries: Entry[]; result: typeof expected | undefined }[] = [
    { title: 'first, before the db', entries: ['metadata.json', 'trivy.db'], result: expected },
    { title: 'last, after the db', entries: ['trivy.db', 'metadata.json'], result: expected },
    { title: 'last, named ./metadata.json', entries: ['trivy.db', './metadata.json'], result: expected },
    { title: 'absent', entries: ['trivy.db'], result: undefined },
  ];
  for (const c of cases) {
    test(`${c.title}: ${c.result ? 'read' : 'undefined'}, through odd-sized chunks`, async () => {
      const path = join(work, `${c.entries.join('+').replace(/[./]/g, '_')}.tar.gz`);
      await writeLayer(path, c.entries);
      // 7 KiB chunks: entry headers and the gzip trailer straddle chunk boundaries
      const got = await readLayerMetadata(createReadStream(path, { highWaterMark: 7 * 1024 }));
      assert.deepEqual(got, c.result);
    });
  }
});

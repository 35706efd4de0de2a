// metadata.json from a generated db layer: read through a tee branch next to another consumer,
// and a branch cut off mid-layer (closed without an error) fails the read instead of hanging.
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { type GeneratedArtifact, generateArtifact } from '@trivy-mirror/fixtures';
import { readLayerMetadata } from '../src/metadata/layer-metadata.js';
import { teeStream } from '../src/destinations/stream-tee.js';

describe('readLayerMetadata', () => {
  let work: string;
  let db: GeneratedArtifact;
  const updatedAt = new Date('2026-10-01T12:00:00Z');

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'oci-sync-meta-'));
    db = await generateArtifact({
      kind: 'trivy-db',
      dbBytes: 3 * 1024 * 1024,
      seed: 'meta',
      updatedAt,
      workDir: work,
    });
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test('reads metadata.json from a tee branch while another branch gets every byte', async () => {
    const [copy, meta] = teeStream(createReadStream(db.layer.path), [{ critical: true }, {}]);
    let bytes = 0;
    const [m] = await Promise.all([
      readLayerMetadata(meta),
      pipeline(
        copy,
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            bytes += chunk.length;
            cb();
          },
        }),
      ),
    ]);
    assert.equal(bytes, db.layer.size);
    assert.equal(m?.updatedAt, updatedAt.toISOString().replace('.000Z', 'Z'));
    assert.equal(m?.version, 2);
  });

  test('a source closed mid-layer without an error rejects instead of hanging', async () => {
    const source = createReadStream(db.layer.path, { highWaterMark: 64 * 1024 });
    let seen = 0;
    source.on('data', (chunk: string | Buffer) => {
      seen += chunk.length;
      if (seen >= 256 * 1024) source.destroy();
    });
    const read = readLayerMetadata(source);
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('hung')), 5_000).unref());
    await assert.rejects(Promise.race([read, timeout]), (err: Error) => err.message !== 'hung');
  });
});

// Reads metadata.json (UpdatedAt/NextUpdate) from a db layer: gunzip + tar, stopping at that entry.
import type { Readable, Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { noteStreamedBytes } from '@trivy-mirror/oci/gc';
import tar from 'tar-stream';

export interface LayerMetadata {
  version?: number;
  updatedAt?: string;
  nextUpdate?: string;
}

const METADATA_MAX_BYTES = 64 * 1024;
/** Inflate output per callback: 256 KiB halves the CPU of a 1 GB layer against zlib's 16 KiB default. */
const INFLATE_CHUNK_BYTES = 256 * 1024;
/**
 * Inflate input per write. Each write is a thread-pool round trip: a file stream's 64 KiB chunks make
 * 16 000 of them per GB, and their latency, not the inflate, sets the pace (1 GB layer: 2.5 -> 1.9 s).
 */
const INFLATE_PIECE_BYTES = 1024 * 1024;

/**
 * Streams the layer until metadata.json has been read, then stops (the db file may come first;
 * it is decompressed and discarded, never buffered). Undefined when the tarball has none.
 */
export async function readLayerMetadata(source: Readable): Promise<LayerMetadata | undefined> {
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES });
  const extract = tar.extract();
  // A source that fails, or closes without an end (a tee branch cut off), fails the read through
  // gunzip instead of leaving the extractor waiting for bytes that never come.
  feedInPieces(source, gunzip).catch((err: Error) => gunzip.destroy(err));
  gunzip.on('error', (err) => extract.destroy(err));
  // Each inflated chunk is a fresh Buffer: scavenge while they are young, as downloads do. Without it
  // they pile up until full mark-compacts (1 GB layer, daemon-sized heap: 3.8 -> 2.1 s, -50 MB RSS).
  gunzip.on('data', (chunk: Buffer) => noteStreamedBytes(chunk.length));
  gunzip.pipe(extract);
  try {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/^\.\//, '');
      if (name !== 'metadata.json' || entry.header.type !== 'file') {
        entry.resume();
        continue;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > METADATA_MAX_BYTES)
          throw new Error(`metadata.json larger than ${METADATA_MAX_BYTES} bytes`);
        chunks.push(chunk);
      }
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      return {
        version: typeof parsed.Version === 'number' ? parsed.Version : undefined,
        updatedAt: typeof parsed.UpdatedAt === 'string' ? parsed.UpdatedAt : undefined,
        nextUpdate: typeof parsed.NextUpdate === 'string' ? parsed.NextUpdate : undefined,
      };
    }
    return undefined;
  } finally {
    // Stop reading the rest of a possibly 1 GB stream.
    source.destroy();
    gunzip.destroy();
    extract.destroy();
  }
}

/**
 * Writes `source` to `sink` in INFLATE_PIECE_BYTES pieces, then ends it. Two buffers take turns: one
 * fills while zlib inflates the other, which is refilled only after its write's callback, when zlib
 * has consumed all of it.
 */
async function feedInPieces(source: Readable, sink: Writable): Promise<void> {
  const buffers = [Buffer.allocUnsafe(INFLATE_PIECE_BYTES), Buffer.allocUnsafe(INFLATE_PIECE_BYTES)];
  let current = 0;
  let filled = 0;
  let inFlight = Promise.resolve();
  const send = async (piece: Buffer) => {
    await inFlight;
    inFlight = new Promise((resolve, reject) => sink.write(piece, (err) => (err ? reject(err) : resolve())));
    // awaited by the next send or at the end; if the source fails first, its error is the one reported
    inFlight.catch(() => undefined);
  };
  for await (const chunk of source as AsyncIterable<Buffer>) {
    for (let offset = 0; offset < chunk.length; ) {
      const n = chunk.copy(buffers[current], filled, offset);
      filled += n;
      offset += n;
      if (filled === INFLATE_PIECE_BYTES) {
        await send(buffers[current]);
        current ^= 1;
        filled = 0;
      }
    }
  }
  if (filled > 0) await send(buffers[current].subarray(0, filled));
  await inFlight;
  sink.end();
}

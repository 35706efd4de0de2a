// Streams a tar.gz layer into a staging directory, refusing anything that could escape it or lie:
// traversal, absolute paths, links, devices, FIFOs, duplicate entries, and decompression bombs.
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { fsyncDir } from '@trivy-mirror/oci/fs';
import { noteStreamedBytes } from '@trivy-mirror/oci/gc';
import { ArchiveInvalidError } from '@trivy-mirror/plugin-api';
import tar from 'tar-stream';
import { DurableFileWriter } from './durable-file-writer.js';

/** What to do with a (safe, normalised) entry path. */
export type EntryAction =
  | { action: 'write'; to: string }
  | { action: 'capture' }
  | { action: 'skip'; reason: string };

export interface ExtractOptions {
  /** The compressed layer, already wrapped in digest verification. */
  source: Readable;
  stagingDir: string;
  maxUnpackedBytes: number;
  fileMode: number;
  dirMode: number;
  /** Decides per entry; `to` is relative to stagingDir. Directories are only created for 'write'. */
  decide(entryPath: string, type: 'file' | 'directory'): EntryAction;
  /** Captured files (e.g. metadata.json) are kept in memory up to this size. */
  maxCaptureBytes?: number;
  /** Compressed size when known: large layers get large buffers (see ioChunkBytes). */
  sizeHint?: number;
  signal?: AbortSignal;
  onSkip?(entryPath: string, reason: string): void;
  /** Label for error messages (e.g. the layer digest). */
  label: string;
}

export interface ExtractResult {
  files: string[];
  unpackedBytes: number;
  writtenBytes: number;
  captured: Map<string, Buffer>;
}

/**
 * Buffer size for reading and inflating a layer of `compressedBytes`. Node's defaults (64 KiB reads,
 * 16 KiB gunzip output) mean ~70,000 threadpool round trips and stream hops for a 1.1 GB trivy.db,
 * the main cost on a busy machine; 1 MiB cuts that 64-fold. Small layers keep small buffers so the
 * daemon does not leave megabytes of garbage behind after populating them.
 */
export function ioChunkBytes(compressedBytes: number | undefined): number {
  return compressedBytes !== undefined && compressedBytes >= 8 * 1024 * 1024 ? 1024 * 1024 : 64 * 1024;
}

const HOSTILE_TYPES = new Set(['link', 'symlink', 'character-device', 'block-device', 'fifo']);

/** Normalises a tar entry name; throws for anything that is not a plain relative path. */
export function safeEntryPath(name: string, label: string): string {
  if (name.includes('\0') || name.includes('\\')) {
    throw new ArchiveInvalidError(`${label}: entry "${name}" has an invalid character`);
  }
  if (name.startsWith('/')) throw new ArchiveInvalidError(`${label}: entry "${name}" is an absolute path`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..'))
    throw new ArchiveInvalidError(`${label}: entry "${name}" escapes the target (..)`);
  return parts.join('/');
}

/** Counts decompressed bytes and fails once they exceed the cap (gzip bombs). */
function byteCap(max: number, label: string, counter: { n: number }, ioChunk: number): Transform {
  return new Transform({
    // Room for a few inflated chunks, so gunzip keeps working while the tar parser is busy.
    highWaterMark: 4 * ioChunk,
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      counter.n += chunk.length;
      noteStreamedBytes(chunk.length);
      if (counter.n > max) {
        cb(new ArchiveInvalidError(`${label}: decompressed size exceeds the cap of ${max} bytes`));
        return;
      }
      cb(null, chunk);
    },
  });
}

export async function extractTarGz(options: ExtractOptions): Promise<ExtractResult> {
  const { stagingDir, label } = options;
  const maxCapture = options.maxCaptureBytes ?? 1024 * 1024;
  const counter = { n: 0 };
  const ioChunk = ioChunkBytes(options.sizeHint);
  // Everything up to pipeline() must stay synchronous: `source` is already flowing, and an error it
  // emits before pipeline() attaches its handler would be uncaught.
  const extract = tar.extract();
  const result: ExtractResult = { files: [], unpackedBytes: 0, writtenBytes: 0, captured: new Map() };
  const dirs = new Set<string>([stagingDir]);
  const seen = new Set<string>();

  let pipeError: unknown;
  const piped = pipeline(
    options.source,
    createGunzip({ chunkSize: ioChunk }),
    byteCap(options.maxUnpackedBytes, label, counter, ioChunk),
    extract,
    { signal: options.signal },
  ).catch((err: unknown) => {
    pipeError = err;
  });

  const mkdirs = async (dir: string): Promise<void> => {
    if (dirs.has(dir)) return;
    await mkdirs(path.dirname(dir));
    try {
      await fs.mkdir(dir, { mode: options.dirMode });
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
    }
    await fs.chmod(dir, options.dirMode);
    dirs.add(dir);
  };

  try {
    for await (const entry of extract) {
      const { header } = entry;
      const type = header.type ?? 'file';
      if (HOSTILE_TYPES.has(type)) {
        throw new ArchiveInvalidError(`${label}: entry "${header.name}" is a ${type}, which is not allowed`);
      }
      const rel = safeEntryPath(header.name, label);
      const kind =
        type === 'directory'
          ? 'directory'
          : type === 'file' || type === 'contiguous-file'
            ? 'file'
            : undefined;
      if (!kind)
        throw new ArchiveInvalidError(`${label}: entry "${header.name}" has unsupported type ${type}`);
      if ((header.size ?? 0) > options.maxUnpackedBytes) {
        throw new ArchiveInvalidError(
          `${label}: entry "${rel}" declares ${header.size} bytes, above the cap`,
        );
      }
      if (rel === '') {
        entry.resume();
        continue;
      }
      if (kind === 'file' && seen.has(rel))
        throw new ArchiveInvalidError(`${label}: entry "${rel}" appears twice`);
      seen.add(rel);
      const decision = options.decide(rel, kind);
      if (decision.action === 'skip') {
        options.onSkip?.(rel, decision.reason);
        entry.resume();
        continue;
      }
      if (kind === 'directory') {
        if (decision.action === 'write') await mkdirs(path.join(stagingDir, decision.to));
        entry.resume();
        continue;
      }
      if (decision.action === 'capture') {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > maxCapture)
            throw new ArchiveInvalidError(`${label}: entry "${rel}" is larger than ${maxCapture} bytes`);
          chunks.push(chunk);
        }
        result.captured.set(rel, Buffer.concat(chunks));
        continue;
      }
      const target = path.join(stagingDir, decision.to);
      await mkdirs(path.dirname(target));
      // O_EXCL|O_NOFOLLOW: never write through something already there.
      const fh = await fs.open(
        target,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        options.fileMode,
      );
      // Batches of 4 inflated chunks; early writeback (fdatasync every 128 MiB in the background)
      // only pays off for large files.
      const writer = new DurableFileWriter(fh, {
        batchBytes: 4 * ioChunk,
        syncEveryBytes: (header.size ?? 0) >= 256 * 1024 * 1024 ? 128 * 1024 * 1024 : 0,
      });
      try {
        for await (const chunk of entry as AsyncIterable<Buffer>) await writer.write(chunk);
        await fh.chmod(options.fileMode);
        await writer.finish();
        result.writtenBytes += writer.bytes;
      } finally {
        await writer.settle();
        await fh.close();
      }
      result.files.push(decision.to);
    }
  } catch (err) {
    options.source.destroy();
    extract.destroy();
    await piped;
    if (err instanceof ArchiveInvalidError) throw err;
    if (pipeError && !isCode(pipeError, 'ERR_STREAM_PREMATURE_CLOSE')) throw classify(pipeError, label);
    throw classify(err, label);
  }
  await piped;
  if (pipeError) throw classify(pipeError, label);
  result.unpackedBytes = counter.n;
  // Directories last, deepest first, so every entry and rename is durable before the swap.
  for (const dir of [...dirs].sort((a, b) => b.length - a.length)) await fsyncDir(dir);
  return result;
}

function isCode(err: unknown, code: string): boolean {
  return !!err && typeof err === 'object' && (err as { code?: string }).code === code;
}

/** Corrupt gzip or tar data becomes ArchiveInvalidError; digest, abort and I/O errors stay as they are. */
function classify(err: unknown, label: string): Error {
  if (err instanceof ArchiveInvalidError) return err;
  if (!(err instanceof Error)) return new Error(String(err));
  if ((err as { name?: string }).name === 'OciError' || isCode(err, 'ABORT_ERR') || err.name === 'AbortError')
    return err;
  const code = (err as { code?: string }).code ?? '';
  if (
    code.startsWith('Z_') ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    /tar|header|unexpected end|checksum/i.test(err.message)
  ) {
    return new ArchiveInvalidError(`${label}: corrupt archive (${err.message})`, err);
  }
  return err;
}

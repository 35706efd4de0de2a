// Validates a zip archive (central directory, names, types, limits) and extracts it with jszip, checking CRC and sizes.
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { ArchiveInvalidError } from '@trivy-mirror/plugin-api';
import JSZip from 'jszip';
import { type ArchiveLimits, ArchiveTree, checkEntryName } from './archive-tree.js';
import { readCentralDirectory, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from './zip-central-directory.js';

/** Checks every entry before writing anything, then extracts all files under `destDir`. */
export async function extractZip(
  file: string,
  destDir: string,
  limits: ArchiveLimits,
  signal?: AbortSignal,
): Promise<ArchiveTree> {
  const buf = await readFile(file);
  if (buf.length < 4 || buf.readUInt32LE(0) !== 0x04034b50) {
    throw new ArchiveInvalidError('not a zip archive (no local file header at offset 0)');
  }
  const { entries } = readCentralDirectory(buf, limits.maxEntries);
  const tree = new ArchiveTree(limits);
  const expected = new Map<string, { size: number; crc32: number; dir: boolean }>();
  for (const e of entries) {
    const name = checkEntryName(e.name);
    const at = `entry ${JSON.stringify(e.name)}`;
    if (e.flags & 0x1) throw new ArchiveInvalidError(`${at}: encrypted entries are not supported`);
    if (e.method !== 0 && e.method !== 8) {
      throw new ArchiveInvalidError(
        `${at}: compression method ${e.method} is not supported (store, deflate are)`,
      );
    }
    const type = e.unixMode === undefined ? 0 : e.unixMode & S_IFMT;
    if (type === S_IFLNK) throw new ArchiveInvalidError(`${at}: symlink entries are refused`);
    if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
      throw new ArchiveInvalidError(`${at}: special file (mode ${type.toString(8)}) is refused`);
    }
    const dir = e.name.endsWith('/') || type === S_IFDIR || (e.dosAttributes & 0x10) !== 0;
    if (dir && e.uncompressedSize > 0) throw new ArchiveInvalidError(`${at}: folder entry with content`);
    tree.add(name, dir ? 'dir' : 'file', e.uncompressedSize, e.name);
    expected.set(name, { size: e.uncompressedSize, crc32: e.crc32, dir });
  }

  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(buf, { checkCRC32: false, createFolders: false });
  } catch (err) {
    throw new ArchiveInvalidError(`corrupt zip: ${(err as Error).message}`, err);
  }
  // jszip normalises names and honours the unicode-path extra field: insist it sees the same names as we did.
  const objects = Object.values(zip.files);
  if (objects.length !== entries.length) {
    throw new ArchiveInvalidError(
      `corrupt zip: jszip sees ${objects.length} entries, the central directory ${entries.length}`,
    );
  }
  for (const obj of objects) {
    const raw = (obj as { unsafeOriginalName?: string }).unsafeOriginalName ?? obj.name;
    const name = raw.replace(/\/$/, '');
    if (!expected.has(name) || (obj.name.replace(/\/$/, '') !== name && !obj.dir)) {
      throw new ArchiveInvalidError(`entry ${JSON.stringify(raw)}: name differs from the central directory`);
    }
  }

  const root = path.resolve(destDir);
  for (const obj of objects) {
    signal?.throwIfAborted();
    const name = obj.name.replace(/\/$/, '');
    const want = expected.get(name)!;
    const target = path.resolve(root, name);
    if (!target.startsWith(root + path.sep))
      throw new ArchiveInvalidError(`entry ${JSON.stringify(name)}: leaves the archive`);
    if (want.dir) {
      await mkdir(target, { recursive: true });
      continue;
    }
    await mkdir(path.dirname(target), { recursive: true });
    let bytes = 0;
    let crc = 0;
    const check = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes > want.size) {
          done(
            new ArchiveInvalidError(
              `entry ${JSON.stringify(name)}: unpacks to more than its declared ${want.size} bytes`,
            ),
          );
          return;
        }
        crc = crc32(chunk, crc);
        done(null, chunk);
      },
    });
    try {
      await pipeline(obj.nodeStream('nodebuffer'), check, createWriteStream(target, { flags: 'wx' }), {
        signal,
      });
    } catch (err) {
      if (err instanceof ArchiveInvalidError || signal?.aborted) throw err;
      throw new ArchiveInvalidError(
        `entry ${JSON.stringify(name)}: corrupt data: ${(err as Error).message}`,
        err,
      );
    }
    if (bytes !== want.size) {
      throw new ArchiveInvalidError(
        `entry ${JSON.stringify(name)}: ${bytes} bytes, the directory says ${want.size}`,
      );
    }
    if (crc >>> 0 !== want.crc32 >>> 0)
      throw new ArchiveInvalidError(`entry ${JSON.stringify(name)}: CRC32 mismatch`);
  }
  return tree;
}

// Reads a zip's central directory itself: jszip hides duplicates, unix modes and the raw names we must check.
import { ArchiveInvalidError } from '@trivy-mirror/plugin-api';

export interface ZipDirectoryEntry {
  /** Name as stored (UTF-8 decoded, as jszip does). */
  name: string;
  /** Host system that made the entry (3 = unix). */
  madeBy: number;
  /** Unix mode from the external attributes, when madeBy is unix. */
  unixMode?: number;
  dosAttributes: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;

/** Parses the end-of-central-directory record and every central entry. Refuses before reading when over maxEntries. */
export function readCentralDirectory(
  buf: Buffer,
  maxEntries: number,
): { entries: ZipDirectoryEntry[]; comment: string } {
  if (buf.length < 22) throw new ArchiveInvalidError('not a zip archive (too short for a central directory)');
  // The EOCD record ends the file, followed by a comment of at most 65535 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG && i + 22 + buf.readUInt16LE(i + 20) === buf.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ArchiveInvalidError('corrupt zip: no end of central directory record (truncated?)');
  const disk = buf.readUInt16LE(eocd + 4);
  const cdDisk = buf.readUInt16LE(eocd + 6);
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  const comment = buf.toString('utf8', eocd + 22, buf.length);
  if (disk !== 0 || cdDisk !== 0) throw new ArchiveInvalidError('multi-disk zip archives are not supported');
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || buf.readUInt32LE(loc) !== ZIP64_LOCATOR_SIG) {
      throw new ArchiveInvalidError('corrupt zip: zip64 values without a zip64 locator');
    }
    const z64 = Number(buf.readBigUInt64LE(loc + 8));
    if (z64 + 56 > buf.length || buf.readUInt32LE(z64) !== ZIP64_EOCD_SIG) {
      throw new ArchiveInvalidError('corrupt zip: bad zip64 end of central directory');
    }
    count = Number(buf.readBigUInt64LE(z64 + 32));
    cdSize = Number(buf.readBigUInt64LE(z64 + 40));
    cdOffset = Number(buf.readBigUInt64LE(z64 + 48));
  }
  if (count > maxEntries)
    throw new ArchiveInvalidError(`${count} entries, more than ${maxEntries} (maxEntries)`);
  if (cdOffset + cdSize > buf.length)
    throw new ArchiveInvalidError('corrupt zip: central directory outside the file');

  const entries: ZipDirectoryEntry[] = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL_SIG) {
      throw new ArchiveInvalidError(`corrupt zip: central directory entry ${n} is damaged`);
    }
    const madeBy = buf.readUInt16LE(p + 4) >> 8;
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc32 = buf.readUInt32LE(p + 16);
    let compressedSize = buf.readUInt32LE(p + 20);
    let uncompressedSize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const external = buf.readUInt32LE(p + 38);
    let localHeaderOffset = buf.readUInt32LE(p + 42);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > buf.length)
      throw new ArchiveInvalidError(`corrupt zip: central directory entry ${n} is truncated`);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extended information: only the fields that are 0xffffffff above are present, in this order.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = buf.readUInt16LE(x);
      const size = buf.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        const take = () => {
          if (q + 8 > x + 4 + size)
            throw new ArchiveInvalidError(`entry ${JSON.stringify(name)}: bad zip64 field`);
          const v = Number(buf.readBigUInt64LE(q));
          q += 8;
          return v;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      x += 4 + size;
    }
    entries.push({
      name,
      madeBy,
      unixMode: madeBy === 3 ? external >>> 16 : undefined,
      dosAttributes: external & 0xff,
      flags,
      method,
      crc32,
      compressedSize,
      uncompressedSize,
      localHeaderOffset,
    });
    p = end;
  }
  return { entries, comment };
}

/** File type bits of a unix mode. */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

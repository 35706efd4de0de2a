// Atomic file replacement (temp file in the same folder, fsync, rename): readers see the old or the new file, never half.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic as durableWriteFileAtomic } from '@trivy-mirror/oci/fs';

function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

async function fsyncFile(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replaces `target` atomically (@trivy-mirror/oci/fs's writeFileAtomic), making its folder first. */
export async function writeFileAtomic(target: string, data: Buffer | string): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  await durableWriteFileAtomic(target, data);
}

export async function copyFileAtomic(source: string, target: string): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = tempName(target);
  try {
    await pipeline(createReadStream(source), createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
    await fsyncFile(tmp);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

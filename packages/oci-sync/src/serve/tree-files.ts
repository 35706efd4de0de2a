// File moves of the published registry tree: everything lands under its final name by rename(2), so
// a static server never serves a partial blob, manifest or tag. Temp files live in DIR/.tmp, named
// after the writer's pid, on the tree's own filesystem (rename cannot cross filesystems).
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, lstat, readdir, readFile, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createVerifyStream, type Descriptor } from '@trivy-mirror/oci';
import { fsyncPath, mkdirp, pidAlive, writeNewFile } from '@trivy-mirror/oci/fs';
import { hashFile } from '../store/file-digest.js';

export class TreeTemp {
  constructor(readonly dir: string) {}

  async path(): Promise<string> {
    await mkdirp(this.dir);
    return join(this.dir, `${process.pid}-${randomBytes(8).toString('hex')}`);
  }

  /** Removes temp files of writers that are gone (a crash); those of live publishers stay. */
  async clean(): Promise<void> {
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      const owner = Number(/^(\d+)-/.exec(name)?.[1] ?? Number.NaN);
      if (owner !== process.pid && pidAlive(owner)) continue;
      await rm(join(this.dir, name), { force: true, recursive: true });
    }
  }
}

export async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await lstat(path)).size;
  } catch {
    return undefined;
  }
}

/**
 * Puts the store's blob at `dst`: a hard link when both are on one filesystem (no copy, and the
 * data outlives the store's GC until the tree lets go of it), else a copy verified by digest.
 * Returns the bytes copied (0 for a link or a blob already there).
 */
export async function placeBlob(temp: TreeTemp, src: string, dst: string, desc: Descriptor): Promise<number> {
  const [have, from] = await Promise.all([stat(dst).catch(() => undefined), stat(src)]);
  const present = have?.size === desc.size;
  // On one filesystem the tree's file is the store's own inode. Another inode of the right size is a
  // link to a store file since replaced (found bad, quarantined and fetched again): linked anew.
  if (present && (have.dev !== from.dev || have.ino === from.ino)) return 0;
  const tmp = await temp.path();
  try {
    try {
      await link(src, tmp);
      await rename(tmp, dst);
      return 0;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // another filesystem, or one without hard links: copy instead
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK' && code !== 'ENOTSUP') throw err;
    }
    if (present) return 0; // a copy made (and verified) by an earlier run, where links cannot be
    await pipeline(createReadStream(src), createVerifyStream(desc), createWriteStream(tmp, { flags: 'wx' }));
    await fsyncPath(tmp);
    await rename(tmp, dst);
    return desc.size;
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Writes small content under `dst` unless it is there already: by size for content named by its
 * digest (a manifest), byte for byte with `compare` (a tag list).
 */
export async function placeBytes(
  temp: TreeTemp,
  dst: string,
  bytes: Buffer,
  options: { compare?: boolean } = {},
): Promise<void> {
  if (options.compare) {
    if ((await readFile(dst).catch(() => undefined))?.equals(bytes)) return;
  } else if ((await sizeOf(dst)) === bytes.length) return;
  const tmp = await temp.path();
  try {
    await writeNewFile(tmp, bytes);
    await rename(tmp, dst);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Points the symlink `path` at `target`, atomically (a reader sees the old or the new one). */
export async function pointLink(temp: TreeTemp, path: string, target: string): Promise<boolean> {
  const current = await readlink(path).catch(() => undefined);
  if (current === target) return false;
  const tmp = await temp.path();
  try {
    await symlink(target, tmp);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  return true;
}

/**
 * The tree's copy of a blob the store lacks now (found bad and quarantined, or deleted): a hard link
 * shares the bad bytes, so it is hashed and removed unless it still matches its digest (a static
 * server then answers 404 instead of a wrong body). Returns true when it was removed.
 */
export async function dropBadTreeBlob(dst: string, desc: Descriptor): Promise<boolean> {
  if ((await sizeOf(dst)) === undefined) return false;
  const { digest } = await hashFile(dst).catch(() => ({ digest: undefined }));
  if (digest === desc.digest) return false;
  await rm(dst, { force: true });
  return true;
}

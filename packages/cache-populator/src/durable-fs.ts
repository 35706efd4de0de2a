// Small durable-filesystem helpers: fsync'd writes, directory fsync, atomic file replace.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** fsync a directory so renames and new entries in it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes a new file (fails if it exists), fsyncs it, and sets its mode regardless of umask. */
export async function writeNewFile(file: string, data: string | Buffer, mode: number): Promise<void> {
  const fh = await fs.open(file, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replaces `file` atomically: temp file beside it, fsync, rename, fsync the directory. */
export async function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644): Promise<void> {
  // The writer's pid in the name lets a later start remove what a killed writer left (cleanupCacheDir).
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  try {
    await writeNewFile(tmp, data, mode);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(path.dirname(file));
}

export async function readJsonFile<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function isErrno(err: unknown, ...codes: string[]): boolean {
  return !!err && typeof err === 'object' && codes.includes((err as { code?: string }).code ?? '');
}

/** Creates `dir` (and parents) with `mode`; returns true when it did not exist before. */
export async function ensureDir(dir: string, mode = 0o755): Promise<boolean> {
  try {
    await fs.mkdir(dir, { mode });
    await fs.chmod(dir, mode);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    if (isErrno(err, 'ENOENT')) {
      await ensureDir(path.dirname(dir), mode);
      return ensureDir(dir, mode);
    }
    throw err;
  }
}

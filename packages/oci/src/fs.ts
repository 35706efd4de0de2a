// @trivy-mirror/oci/fs: durable-filesystem helpers shared by the store and the plugins (not part of
// the OCI client's API): fsync of directories and files, fsync'd new files, atomic replace, `mkdir -p`,
// and whether a temp file's writer (by pid) still lives.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export { creatableDirProblem, mkdirp } from './mkdirp.js';

/** fsync a directory so renames and new entries in it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync of a file or a directory (a directory's fsync makes a rename in it durable). */
export async function fsyncPath(target: string): Promise<void> {
  const fh = await fs.open(target, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Whether a process with this pid exists (EPERM: it does, run by another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes a new file (fails if it exists) and fsyncs it. With `mode` the file gets that mode regardless
 * of the umask; without, 0644 less the umask.
 */
export async function writeNewFile(file: string, data: string | Buffer, mode?: number): Promise<void> {
  const fh = await fs.open(file, 'wx', mode ?? 0o644);
  try {
    await fh.writeFile(data);
    if (mode !== undefined) await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Creates `file` holding `data`, or returns false when it exists (a lock file another process holds).
 * The file appears whole or not at all (written beside it, then hard-linked): a kill between create
 * and write would otherwise leave an empty lock that names no holder. Not fsynced: a lock outlives
 * no crash of its holder anyway.
 */
export async function writeNewFileIfAbsent(file: string, data: string | Buffer): Promise<boolean> {
  const temp = `${file}.new.${process.pid}.${randomBytes(4).toString('hex')}`;
  await fs.writeFile(temp, data, { flag: 'wx', mode: 0o644 });
  try {
    await fs.link(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.unlink(temp).catch(() => undefined);
  }
}

/**
 * Removes the stale lock `file`: moves it aside (`FILE.stale.PID`) and asks `isTheStaleOne(aside)`
 * whether what was moved is still the lock judged stale; if another process took it over meanwhile,
 * it is put back. True when the stale lock was removed.
 */
export async function takeOverStaleLock(
  file: string,
  isTheStaleOne: (aside: string) => Promise<boolean>,
): Promise<boolean> {
  const aside = `${file}.stale.${process.pid}`;
  try {
    await fs.rename(file, aside);
  } catch {
    return false; // gone already
  }
  const same = await isTheStaleOne(aside);
  if (!same) await fs.link(aside, file).catch(() => undefined);
  await fs.unlink(aside).catch(() => undefined);
  return same;
}

/**
 * Removes what a killed lock taker leaves in `dir` beside lock file `base`: `BASE.new.PID.*` (from
 * writeNewFileIfAbsent) and `BASE.stale.PID` (from takeOverStaleLock), when PID is dead.
 */
export async function removeLockLeftovers(dir: string, base: string): Promise<number> {
  let n = 0;
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(`${base}.`)) continue;
    const m = /^(?:new|stale)\.(\d+)(?:\.[0-9a-f]+)?$/.exec(name.slice(base.length + 1));
    if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
    await fs.rm(path.join(dir, name), { force: true });
    n++;
  }
  return n;
}

/**
 * Replaces `file` atomically: a temp file beside it (`.NAME.tmp-<pid>-<hex>`), fsync, rename, fsync the
 * directory. Readers see the old or the new file, never half. `mode` as for writeNewFile.
 */
export async function writeFileAtomic(file: string, data: string | Buffer, mode?: number): Promise<void> {
  // The writer's pid in the name lets a later start remove what a killed writer left.
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

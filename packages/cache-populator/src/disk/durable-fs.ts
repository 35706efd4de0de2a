// Small filesystem helpers of the cache populator: JSON records, errno checks, dirs with a mode.
// fsync'd writes, directory fsync and atomic replace are @trivy-mirror/oci/fs's.
import fs from 'node:fs/promises';
import path from 'node:path';

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

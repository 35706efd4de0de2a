// A layout's quarantine: files found damaged (a blob that does not hash to its name, a torn
// index.json) are moved to `quarantine/` beside `blobs/` instead of being deleted, so someone can look
// at them. Only the newest few stay: a store must not fill its disk with bad copies of a 1 GB layer.
import { copyFile, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDir } from '../fs.js';
import { mkdirp } from '../mkdirp.js';

export const QUARANTINE_DIR = 'quarantine';
/** Files kept in a layout's quarantine; older ones are removed. */
export const QUARANTINE_KEEP = 4;

/**
 * Moves `file` (or with `copy`, a copy of it: the caller replaces it atomically) into the layout's
 * quarantine as `NAME.TIMESTAMP`, and trims the quarantine. Returns the new path.
 */
export async function quarantineFile(
  layoutDir: string,
  file: string,
  name: string,
  options: { copy?: boolean; now?: Date } = {},
): Promise<string> {
  const dir = join(layoutDir, QUARANTINE_DIR);
  await mkdirp(dir);
  const stamp = (options.now ?? new Date()).toISOString().replace(/[:.]/g, '-');
  const target = join(dir, `${name}.${stamp}`);
  if (options.copy) await copyFile(file, target);
  else {
    await rename(file, target);
    await fsyncDir(dirname(file)).catch(() => undefined);
  }
  await trimQuarantine(dir);
  return target;
}

/** Keeps the QUARANTINE_KEEP newest files (by the timestamp in their names). */
async function trimQuarantine(dir: string): Promise<void> {
  const stampOf = (name: string) => name.slice(name.lastIndexOf('.') + 1);
  const names = (await readdir(dir).catch(() => [] as string[])).sort((a, b) =>
    stampOf(b).localeCompare(stampOf(a)),
  );
  for (const name of names.slice(QUARANTINE_KEEP)) await rm(join(dir, name), { force: true });
}

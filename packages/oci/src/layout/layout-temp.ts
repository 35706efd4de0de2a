// Temp files of a layout: every write goes through `.tmp/PID-HEX` and a rename. Leftovers of
// interrupted writes are removed later, but never those of writes still running (here, or in
// another live process such as a CLI sync: the name carries the writer's pid).
import { randomBytes } from 'node:crypto';
import { readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pidAlive, removeLockLeftovers } from '../fs.js';
import { LAYOUT_LOCK_FILE } from './layout-lock.js';
import { mkdirp } from '../mkdirp.js';

const TMP_DIR = '.tmp';

// temp files of writes in flight in this process: cleanLayoutTemp must not remove them
const activeTemp = new Set<string>();

/** A new temp path in the layout's `.tmp/`, marked in flight until `releaseTemp`. */
export async function layoutTempPath(layoutDir: string): Promise<string> {
  const dir = join(layoutDir, TMP_DIR);
  await mkdirp(dir);
  const path = join(dir, `${process.pid}-${randomBytes(8).toString('hex')}`);
  activeTemp.add(path);
  return path;
}

/** The write using `path` is over (renamed or removed). */
export function releaseTemp(path: string): void {
  activeTemp.delete(path);
}

/**
 * Removes leftovers of interrupted writes (not those of writes still running). Returns the count.
 * `removeDir`: the `.tmp/` folder too once empty, for a tree handed on (an export), not a live store
 * (another process may be about to write into it).
 */
export async function cleanLayoutTemp(
  layoutDir: string,
  options: { removeDir?: boolean } = {},
): Promise<number> {
  let n = 0;
  const tmpDir = join(layoutDir, TMP_DIR);
  for (const name of await readdir(tmpDir).catch(() => [] as string[])) {
    const path = join(tmpDir, name);
    if (activeTemp.has(path)) continue;
    // temp names start with the writer's pid: another live process (a CLI sync) may still be writing
    const owner = Number(/^(\d+)-/.exec(name)?.[1] ?? Number.NaN);
    if (owner !== process.pid && pidAlive(owner)) continue;
    await rm(path, { force: true, recursive: true });
    n++;
  }
  // temp files other tools leave beside the blobs or the index
  for (const dir of [layoutDir, join(layoutDir, 'blobs', 'sha256')]) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith('.tmp-') && !/^index\.json\.tmp/.test(name)) continue;
      const path = join(dir, name);
      if (activeTemp.has(path)) continue;
      await rm(path, { force: true, recursive: true });
      n++;
    }
  }
  if (options.removeDir) {
    await rmdir(tmpDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT' && err.code !== 'ENOTEMPTY') throw err;
    });
  }
  // what a kill mid-way through taking the index lock leaves (layout-lock.ts)
  return n + (await removeLockLeftovers(layoutDir, LAYOUT_LOCK_FILE));
}

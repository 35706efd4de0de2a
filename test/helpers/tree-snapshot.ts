// Every file, link and directory under a root with size, mtime and sha256, so a test can assert that a
// dry run (or any read-only command) changed nothing at all; listTree, the file names alone.
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

export type TreeSnapshot = Record<string, string>;

/** 'dir', 'link TARGET MTIME' or 'SIZE MTIME SHA256' per entry; {} when the root does not exist. */
export async function treeSnapshot(root: string): Promise<TreeSnapshot> {
  const out: TreeSnapshot = {};
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(dir, e.name);
      const key = relative(root, path);
      if (e.isSymbolicLink()) {
        out[key] = `link ${await readlink(path)} ${(await lstat(path)).mtimeMs}`;
      } else if (e.isDirectory()) {
        out[key] = 'dir';
        await walk(path);
      } else {
        const st = await lstat(path);
        const hash = createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
        out[key] = `${st.size} ${st.mtimeMs} ${hash}`;
      }
    }
  };
  await walk(root);
  return out;
}

export function pathExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Every file under `dir` (paths relative to it, sorted), for "nothing changed" checks. */
export async function listTree(dir: string): Promise<string[]> {
  if (!(await pathExists(dir))) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length))
    .sort();
}

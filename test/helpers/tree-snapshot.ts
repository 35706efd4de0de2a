// Every file and directory under a root with size, mtime and sha256, so a test can assert that a
// dry run (or any read-only command) changed nothing at all.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

export type TreeSnapshot = Record<string, string>;

/** 'dir' for directories, 'SIZE MTIME SHA256' for files; {} when the root does not exist. */
export async function treeSnapshot(root: string): Promise<TreeSnapshot> {
  const out: TreeSnapshot = {};
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(dir, e.name);
      const key = relative(root, path);
      if (e.isDirectory()) {
        out[key] = 'dir';
        await walk(path);
      } else {
        const st = await stat(path);
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

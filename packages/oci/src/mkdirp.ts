// `mkdir -p` without Node's recursive mode: on Node 20 `mkdir(dir, { recursive: true })` never settles
// for a path under /proc (and some FUSE mounts) that cannot be created; this walks up once, creates
// each missing level and fails with the level that could not be made.
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export async function mkdirp(dir: string): Promise<void> {
  const missing: string[] = [];
  let current = resolve(dir);
  for (;;) {
    try {
      const info = await stat(current);
      if (!info.isDirectory()) {
        throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${current}'`), {
          code: 'ENOTDIR',
          path: current,
        });
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.push(current);
      const parent = dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }
  for (const level of missing.reverse()) {
    try {
      await mkdir(level);
    } catch (err) {
      // another writer made it meanwhile
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

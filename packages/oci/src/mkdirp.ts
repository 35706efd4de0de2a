// `mkdir -p` without Node's recursive mode: on Node 20 `mkdir(dir, { recursive: true })` never settles
// for a path under /proc (and some FUSE mounts) that cannot be created; this walks up once, creates
// each missing level and fails with the level that could not be made.
import { constants } from 'node:fs';
import { access, lstat, mkdir, readlink, stat } from 'node:fs/promises';
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

/**
 * Why `mkdirp(dir)` and writing into `dir` would fail, without creating anything (`config check`):
 * the nearest existing level must be a directory this process may write to (or `dir` itself).
 * Undefined when it would work.
 */
export async function creatableDirProblem(dir: string): Promise<string | undefined> {
  let current = resolve(dir);
  for (;;) {
    try {
      const info = await stat(current);
      if (!info.isDirectory()) return `${current} is not a directory`;
      await access(current, constants.W_OK | constants.X_OK);
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
        return current === resolve(dir)
          ? `${current} is not writable by this user`
          : `${resolve(dir)} cannot be created: ${current} is not writable by this user`;
      if (code === 'ENOTDIR') return `${resolve(dir)} cannot be created: a parent of it is a file`;
      if (code !== 'ENOENT') return `${current}: ${(err as Error).message}`;
      // A symbolic link to nothing: no mkdir can make it a directory.
      if ((await lstat(current).catch(() => undefined))?.isSymbolicLink()) {
        const target = await readlink(current).catch(() => '?');
        return `${current} is a symbolic link to ${target}, which does not exist`;
      }
      const parent = dirname(current);
      if (parent === current) return `${resolve(dir)} cannot be created`;
      current = parent;
    }
  }
}

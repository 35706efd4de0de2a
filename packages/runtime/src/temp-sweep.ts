// Removes `.tmp-*` leftovers of interrupted atomic writes under the state directory at start-up.
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface SweepResult {
  removed: string[];
}

/**
 * Deletes files and directories named `.tmp-*` anywhere under `dir` whose mtime is before `olderThan`
 * (default: now, i.e. anything left by an earlier process). Symlinks are never followed.
 */
export async function sweepTempFiles(
  dir: string,
  options: { olderThan?: Date; maxDepth?: number } = {},
): Promise<SweepResult> {
  const cutoff = (options.olderThan ?? new Date()).getTime();
  const maxDepth = options.maxDepth ?? 12;
  const removed: string[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.name.startsWith('.tmp-')) {
        try {
          const st = await lstat(p);
          if (st.mtimeMs < cutoff) {
            await rm(p, { recursive: true, force: true });
            removed.push(p);
          }
        } catch {
          // Gone already.
        }
      } else if (e.isDirectory() && depth < maxDepth) {
        await walk(p, depth + 1);
      }
    }
  };
  await walk(dir, 0);
  return { removed };
}

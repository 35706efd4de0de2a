// Removes leftovers of interrupted atomic writes (`.tmp-*` and the other temp names below) under the
// state directory at start-up.
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Names of temp files of atomic writes: `.tmp-*` (runtime, oci), `NAME.<hex>.tmp` (vexhub-mirror copies,
 * and oci-sync state files of earlier versions) and `.NAME.tmp-[<pid>-]<hex>` (writeFileAtomic of
 * @trivy-mirror/oci/fs: oci-sync state, status history, cache-populator records, vexhub-mirror
 * manifests and version records).
 */
export function isTempName(name: string): boolean {
  return (
    name.startsWith('.tmp-') ||
    /\.[0-9a-f]{8,}\.tmp$/.test(name) ||
    /^\..+\.tmp-(?:\d+-)?[0-9a-f]{8,}$/.test(name)
  );
}

export interface SweepResult {
  removed: string[];
}

/**
 * Deletes files and directories with temp names (see isTempName) anywhere under `dir` whose mtime is before `olderThan`
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
      if (isTempName(e.name)) {
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

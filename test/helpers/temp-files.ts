// Finds what an interrupted atomic write would leave behind: `.tmp-*` / `*.tmp` files, entries in a
// layout's `.tmp/` dir, and cache-populator staging dirs and temp links. Empty `.tmp/` dirs are fine.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

const TEMP_NAME = /^\.tmp-|\.tmp-[0-9a-f]+$|\.tmp$|^\.trivy-mirror-(staging|link)-/;

export async function findTempLeftovers(...roots: string[]): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, insideTmp: boolean): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(dir, e.name);
      if (insideTmp || (e.name !== '.tmp' && TEMP_NAME.test(e.name))) {
        found.push(path);
        continue;
      }
      if (e.isDirectory()) await walk(path, e.name === '.tmp');
    }
  };
  for (const root of roots) await walk(root, false);
  return found.sort();
}

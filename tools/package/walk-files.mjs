// Every file (or directory) below a folder, sorted, for md5sums and permissions.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export function walkFiles(dir, { dirs = false } = {}) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (dirs) out.push(p);
      out.push(...walkFiles(p, { dirs }));
    } else if (!dirs) out.push(p);
  }
  return out.sort();
}

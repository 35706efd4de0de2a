import { watch } from 'chokidar';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
const d = await fs.mkdtemp(path.join(os.tmpdir(), 'chok-'));
const RE = /^(db|java-db|checks|vex-[A-Za-z0-9][A-Za-z0-9._-]*)-[0-9a-z]+-[0-9a-f]{8}$/;
const ign = (p: string) => { const segs = p.split(path.sep); if (segs.some((s) => s.startsWith('.trivy-mirror-'))) return true; const i = segs.indexOf('.trivy-mirror'); if (i < 0 || i === segs.length - 1) return false; return !RE.test(segs[i+1]); };
const w = watch([d], { ignoreInitial: true, ignored: ign });
w.on('all', (e, p) => console.log(Date.now() % 100000, e, path.relative(d, p)));
await new Promise((r) => w.once('ready', r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function version(n: number) {
  const v = path.join(d, '.trivy-mirror', `db-abc${n}-0000000${n}`);
  await fs.mkdir(v, { recursive: true });
  await fs.writeFile(path.join(v, 'trivy.db'), 'x' + n);
  await fs.symlink(`.trivy-mirror/db-abc${n}-0000000${n}`, path.join(d, '.trivy-mirror-link-x'));
  await fs.rename(path.join(d, '.trivy-mirror-link-x'), path.join(d, 'db'));
}
await version(1); await sleep(500);
console.log('rm 1'); await fs.rm(path.join(d, 'db', 'trivy.db')); await sleep(500);
await version(2); await sleep(500);
console.log('rm 2'); await fs.rm(path.join(d, 'db', 'trivy.db')); await sleep(500);
await version(3); await sleep(500);
await version(4); await sleep(500);
console.log('rm 4'); await fs.rm(path.join(d, 'db', 'trivy.db')); await sleep(800);
await w.close(); await fs.rm(d, { recursive: true });

// Child process for the crash test: populates `db` from a store and reports when it has started.
import { populateCacheDir } from '../../src/index.js';

const [cacheDir, root] = process.argv.slice(2);
process.stdout.write(`started ${process.pid}\n`);
const result = await populateCacheDir({
  cacheDir,
  parts: ['db'],
  source: { kind: 'layout', root },
  force: true,
});
process.stdout.write(`done ${JSON.stringify(result.parts.map((p) => p.status))}\n`);

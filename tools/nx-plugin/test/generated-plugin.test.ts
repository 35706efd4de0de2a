// What the generator scaffolds works as written: the package builds with tsc against the workspace's
// plugin-api, its own test passes, and the built daemon loads it from plugins.external (config check)
// and runs its job (sync --only). Written under the repository's git-ignored tmp/, since the package
// resolves @trivy-mirror/plugin-api, inversify and zod from the workspace's node_modules.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const generator = require('../plugin-generator.cjs') as (
  tree: unknown,
  options: { name: string; directory?: string },
) => Promise<() => void>;

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'apps/daemon/bin/trivy-mirror.js');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const NAME = 'scaffold-check';

let work: string;
let pkgDir: string;

before(async () => {
  await mkdir(join(ROOT, 'tmp'), { recursive: true });
  work = await mkdtemp(join(ROOT, 'tmp', 'generated-plugin-'));
  const tree = createTreeWithEmptyWorkspace();
  tree.write('package.json', JSON.stringify({ name: 'ws', workspaces: ['packages/*'] }));
  tree.write('tsconfig.json', JSON.stringify({ files: [], references: [] }));
  const directory = relative(ROOT, work);
  await generator(tree, { name: NAME, directory });
  pkgDir = join(work, NAME);
  const changes = (tree as { listChanges(): { path: string; type: string; content: Buffer | null }[] })
    .listChanges()
    .filter((c) => c.type !== 'DELETE' && c.content && c.path.startsWith(`${directory}/${NAME}/`));
  assert.ok(changes.length >= 5, `generated files: ${changes.map((c) => c.path).join(', ')}`);
  for (const c of changes) {
    const file = join(ROOT, c.path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, c.content as Buffer);
  }
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
  // tmp/ too once it is empty: another run may still use it (rmdir refuses then)
  await rmdir(join(ROOT, 'tmp')).catch(() => {});
});

test('the scaffolded plugin builds, passes its own test, loads into the daemon and runs its job', async () => {
  await run(process.execPath, [TSC, '-b', pkgDir], { cwd: ROOT });
  const ownTest = await run(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', join(pkgDir, 'test', `${NAME}.test.ts`)],
    // without the parent runner's context, the child prints its own TAP instead of reporting to it
    { cwd: ROOT, env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
  );
  assert.match(ownTest.stdout, /# pass 1/);
  assert.match(ownTest.stdout, /# fail 0/);

  const config = join(work, 'config.yaml');
  await writeFile(
    config,
    `stateDir: ${join(work, 'state')}
plugins:
  oci-sync: { enabled: false }
  cache-populator: { enabled: false }
  vexhub-mirror: { enabled: false }
  external:
    - { module: ${join(pkgDir, 'dist/index.js')}, options: { schedule: "*/5 * * * *" } }
`,
  );
  const check = await run(process.execPath, [CLI, 'config', 'check', '--config', config], { cwd: ROOT });
  assert.match(check.stdout + check.stderr, new RegExp(NAME));
  const sync = await run(process.execPath, [CLI, 'sync', '--config', config, '--only', NAME, '--json'], {
    cwd: ROOT,
  });
  const records = JSON.parse(sync.stdout) as { job?: string; jobId?: string; status: string }[];
  const mine = records.find((r) => (r.job ?? r.jobId) === NAME);
  assert.equal(mine?.status, 'success', sync.stdout);
});

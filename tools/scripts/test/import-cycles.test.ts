// The module-boundary check's cycle rule: an import cycle between the files of a package's src fails
// `npm run lint`, naming the files in import order; a type or a dynamic import counts, a test does not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs script, no types
import { importCycles } from '../import-cycles.mjs';

interface Cycle {
  cycle: string[];
  files: string[];
}

const CHECK = fileURLToPath(new URL('../check-boundaries.mjs', import.meta.url));
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tm-import-cycles-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function tree(name: string, files: Record<string, string>): Promise<string> {
  const root = join(dir, name);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

test('a layered package has no cycles', async () => {
  const src = await tree('layered', {
    'index.ts': "export { b } from './model/b.js';\nexport { c } from './c.js';\n",
    'model/b.ts': "import type { C } from '../c.js';\nexport const b = (x: C) => x;\n",
    'c.ts': "export type C = string;\nexport const c = 'c';\n",
  });
  assert.deepEqual(importCycles(src), []);
});

test('a cycle across folders is named in import order, through type and dynamic imports', async () => {
  const src = await tree('tangled', {
    'index.ts': "export * from './a.js';\n",
    'a.ts': "import { b } from './sub/b.js';\nexport const a = () => b;\n",
    'sub/b.ts': "import type { C } from '../c.js';\nexport const b = 1 as unknown as C;\n",
    'c.ts': "export type C = number;\nexport const load = () => import('./a.js');\n",
    'a.test.ts': "import { a } from './a.js';\nimport './c.js';\n",
  });
  const cycles = importCycles(src) as Cycle[];
  assert.deepEqual(cycles, [
    { cycle: ['a.ts', 'sub/b.ts', 'c.ts', 'a.ts'], files: ['a.ts', 'c.ts', 'sub/b.ts'] },
  ]);
});

test('a file that imports itself is a cycle', async () => {
  const src = await tree('self', { 'x.ts': "import './x.js';\nexport const x = 1;\n" });
  assert.deepEqual(
    (importCycles(src) as Cycle[]).map((c) => c.cycle),
    [['x.ts', 'x.ts']],
  );
});

test('check-boundaries fails on a cycle inside a package, naming it, and passes once it is broken', async () => {
  const ws = await tree('workspace', {
    'packages/lib/package.json': JSON.stringify({ name: '@trivy-mirror/lib', nx: { tags: ['type:lib'] } }),
    'packages/lib/src/schema.ts':
      "import { sw } from './switch.js';\nexport type Config = { on: boolean };\nexport const schema = sw;\n",
    'packages/lib/src/switch.ts':
      "import type { Config } from './schema.js';\nexport const sw = (c: Config) => c.on;\n",
  });
  const failed = spawnSync(process.execPath, [CHECK, ws], { encoding: 'utf8' });
  assert.equal(failed.status, 1, failed.stdout + failed.stderr);
  assert.match(
    failed.stderr,
    /@trivy-mirror\/lib: import cycle in packages\/lib\/src: schema\.ts → switch\.ts → schema\.ts/,
  );

  await writeFile(join(ws, 'packages/lib/src/config-type.ts'), 'export type Config = { on: boolean };\n');
  await writeFile(
    join(ws, 'packages/lib/src/switch.ts'),
    "import type { Config } from './config-type.js';\nexport const sw = (c: Config) => c.on;\n",
  );
  const passed = spawnSync(process.execPath, [CHECK, ws], { encoding: 'utf8' });
  assert.equal(passed.status, 0, passed.stdout + passed.stderr);
  assert.match(passed.stdout, /1 projects checked, no problems/);
});

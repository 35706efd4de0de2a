// The plugin generator writes a package that follows the workspace conventions and wires it into the build.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';

const require = createRequire(import.meta.url);
const generator = require('../plugin-generator.cjs') as (
  tree: unknown,
  options: { name: string; directory?: string },
) => Promise<() => void>;

function workspace() {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('package.json', JSON.stringify({ name: 'ws', workspaces: ['packages/*'] }));
  tree.write('tsconfig.json', JSON.stringify({ files: [], references: [{ path: './packages/plugin-api' }] }));
  return tree;
}

test('scaffolds a plugin package: schema, module with a Job and a HealthCheck, a test, build wiring', async () => {
  const tree = workspace();
  await generator(tree, { name: 'notify-slack' });
  const pkg = JSON.parse(tree.read('packages/notify-slack/package.json', 'utf-8')!);
  assert.equal(pkg.name, '@trivy-mirror/notify-slack');
  assert.deepEqual(pkg.nx.tags, ['type:plugin']);
  assert.ok(pkg.dependencies['@trivy-mirror/plugin-api']);
  const index = tree.read('packages/notify-slack/src/index.ts', 'utf-8')!;
  assert.match(index, /id: 'notify-slack'/);
  assert.match(index, /import \{ notifySlackModule \} from '\.\/notify-slack-module\.js'/);
  const module = tree.read('packages/notify-slack/src/notify-slack-module.ts', 'utf-8')!;
  assert.match(module, /bind<Job>\(Job\)/);
  assert.match(module, /bind<HealthCheck>\(HealthCheck\)/);
  assert.ok(tree.exists('packages/notify-slack/src/notify-slack-config.ts'));
  assert.ok(tree.exists('packages/notify-slack/test/notify-slack.test.ts'));
  const tsconfig = JSON.parse(tree.read('packages/notify-slack/tsconfig.json', 'utf-8')!);
  assert.equal(tsconfig.extends, '../../tsconfig.base.json');
  const root = JSON.parse(tree.read('tsconfig.json', 'utf-8')!);
  assert.ok(root.references.some((r: { path: string }) => r.path === './packages/notify-slack'));
});

test('refuses bad names and existing packages', async () => {
  const tree = workspace();
  await assert.rejects(() => generator(tree, { name: 'Bad_Name' }), /lowercase/);
  await generator(tree, { name: 'dup' });
  await assert.rejects(() => generator(tree, { name: 'dup' }), /already exists/);
});

// External plugin loading: by path relative to the config dir, every failure reported in one error.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { definePlugin, PluginError } from '@trivy-mirror/plugin-api';
import { ContainerModule } from 'inversify';
import { z } from 'zod';
import { configJsonSchema, loadConfig, loadPlugins, PluginLoadError } from '../src/index.js';
import { tempDir } from './helpers.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const builtin = definePlugin({
  id: 'builtin-one',
  description: 'a builtin',
  configSchema: z.strictObject({ n: z.number().default(1) }),
  module: () => new ContainerModule(() => {}),
}) as never;

describe('loadPlugins', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir('rt-loader-')));
  after(() => cleanup());

  test('loads a good external plugin by relative path and validates its options', async () => {
    const loaded = await loadPlugins({
      builtins: [builtin],
      external: [{ module: './good.mjs', options: { greeting: 'hi', times: 2 } }],
      baseDir: fixtures,
    });
    assert.deepEqual(
      loaded.map((p) => [p.definition.id, p.source]),
      [
        ['builtin-one', 'builtin'],
        ['good', './good.mjs'],
      ],
    );
    assert.deepEqual(loaded[0].config, { n: 1 });
    assert.deepEqual(loaded[1].config, { greeting: 'hi', times: 2 });
  });

  test('a plugin package directory is loaded from the entry its package.json names', async () => {
    const pkg = join(dir, 'plugins', 'dir-plugin');
    await mkdir(join(pkg, 'dist'), { recursive: true });
    await writeFile(
      join(pkg, 'package.json'),
      JSON.stringify({
        name: 'dir-plugin',
        type: 'module',
        exports: { '.': { default: './dist/index.js' } },
      }),
    );
    await writeFile(
      join(pkg, 'dist', 'index.js'),
      `export { default } from ${JSON.stringify(join(fixtures, 'good.mjs'))};\n`,
    );
    const loaded = await loadPlugins({
      builtins: [],
      external: [{ module: './plugins/dir-plugin', options: { greeting: 'yo' } }],
      baseDir: dir,
    });
    assert.deepEqual(
      loaded.map((p) => [p.definition.id, p.source]),
      [['good', './plugins/dir-plugin']],
    );
    // and `config schema --config` describes its options under plugins.external
    const schema = configJsonSchema(
      [builtin],
      [{ module: './plugins/dir-plugin', definition: loaded[0].definition }],
    ) as { properties: { plugins: { properties: { external: { items: { anyOf: unknown[] } } } } } };
    const [own, generic] = schema.properties.plugins.properties.external.items.anyOf as {
      properties: Record<
        string,
        { const?: string; required?: string[]; properties?: Record<string, unknown> }
      >;
    }[];
    assert.equal(own.properties.module.const, './plugins/dir-plugin');
    assert.deepEqual(own.properties.options.required, ['greeting']);
    assert.ok(own.properties.options.properties?.times);
    assert.equal(generic.properties.module.const, undefined, 'other modules still validate');
  });

  test('broken, wrong-shape, no default export, invalid options, missing and duplicate: one error listing all', async () => {
    const err = await loadPlugins({
      builtins: [builtin],
      external: [
        { module: './broken.mjs' },
        { module: './wrong-shape.mjs' },
        { module: './no-default.mjs' },
        { module: './good.mjs', options: { times: 0 } },
        { module: './does-not-exist.mjs' },
        { module: '@acme/not-installed-plugin' },
        { module: './good.mjs', options: { greeting: 'a' } },
        { module: './good.mjs', options: { greeting: 'b' } },
      ],
      baseDir: fixtures,
    }).then(
      () => assert.fail('expected a PluginLoadError'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof PluginLoadError);
    assert.ok(err instanceof PluginError);
    assert.equal(err.errors.length, 7);
    const m = err.message;
    assert.match(m, /broken\.mjs.*broken plugin exploded on import/);
    assert.match(m, /wrong-shape\.mjs" is not a plugin: .*configSchema.*module/);
    assert.match(m, /no-default\.mjs" has no default export/);
    assert.match(
      m,
      /plugin good: invalid options: plugins\.external\[3\]\.options\.greeting: .*plugins\.external\[3\]\.options\.times/,
    );
    assert.match(m, /does-not-exist\.mjs/);
    assert.match(m, /@acme\/not-installed-plugin.*cannot find module/);
    assert.match(m, /plugin good: duplicate plugin id/);
  });

  test('option errors carry the config file line; an id override loads one module twice', async () => {
    await mkdir(join(dir, 'plugins'), { recursive: true });
    await writeFile(
      join(dir, 'plugins', 'good.mjs'),
      `export { default } from ${JSON.stringify(join(fixtures, 'good.mjs'))};\n`,
    );
    const file = join(dir, 'config.yaml');
    await writeFile(
      file,
      [
        'plugins:',
        '  external:',
        '    - module: ./plugins/good.mjs',
        '      options: { greeting: hello }',
        '    - module: ./plugins/good.mjs',
        '      id: good-two',
        '      options:',
        '        greeting: 5',
        '',
      ].join('\n'),
    );
    const loaded = await loadConfig({ path: file, env: {}, plugins: [builtin] });
    await assert.rejects(
      loadPlugins({
        builtins: [builtin],
        baseDir: loaded.baseDir,
        config: loaded.config,
        locate: loaded.locate,
      }),
      /plugin good-two: invalid options: plugins\.external\[1\]\.options\.greeting \(line 8, column 19\)/,
    );
    await writeFile(
      file,
      'plugins:\n  external:\n    - { module: ./plugins/good.mjs, options: { greeting: a } }\n    - { module: ./plugins/good.mjs, id: good-two, options: { greeting: b } }\n',
    );
    const ok = await loadConfig({ path: file, env: {}, plugins: [builtin] });
    const plugins = await loadPlugins({ builtins: [builtin], baseDir: ok.baseDir, config: ok.config });
    assert.deepEqual(
      plugins.map((p) => p.definition.id),
      ['builtin-one', 'good', 'good-two'],
    );
  });

  test('resolves an npm package name from node_modules under the config dir', async () => {
    const pkg = join(dir, 'node_modules', '@acme', 'tm-plugin');
    await mkdir(join(pkg, 'dist'), { recursive: true });
    await writeFile(
      join(pkg, 'package.json'),
      JSON.stringify({
        name: '@acme/tm-plugin',
        type: 'module',
        exports: { '.': { import: './dist/index.js' } },
      }),
    );
    await writeFile(
      join(pkg, 'dist', 'index.js'),
      `export { default } from ${JSON.stringify(join(fixtures, 'good.mjs'))};\n`,
    );
    const plugins = await loadPlugins({
      builtins: [],
      external: [{ module: '@acme/tm-plugin', options: { greeting: 'x' } }],
      baseDir: dir,
    });
    assert.equal(plugins[0].definition.id, 'good');
  });
});

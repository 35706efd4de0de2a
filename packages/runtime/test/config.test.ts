// Config loading: defaults, errors with YAML path and line:column, env overrides, JSON Schema.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, definePlugin, MirrorError } from '@trivy-mirror/plugin-api';
import { ContainerModule } from 'inversify';
import { z } from 'zod';
import { configExample, configJsonSchema, loadConfig } from '../src/index.js';
import { tempDir } from './helpers.js';

const ociSyncLike = definePlugin({
  id: 'oci-sync',
  description: 'test stand-in for oci-sync',
  configSchema: z.strictObject({
    schedule: z.string().default('17 */6 * * *'),
    artifacts: z
      .array(z.strictObject({ name: z.string(), tags: z.array(z.string()).min(1) }))
      .default([{ name: 'trivy-db', tags: ['2'] }]),
    keepVersions: z.number().int().min(1).default(3),
  }),
  exampleConfig: 'oci-sync:\n  schedule: "0 */6 * * *"   # cron\n  keepVersions: 4\n',
  module: () => new ContainerModule(() => {}),
});
const plugins = [ociSyncLike] as never[];

describe('loadConfig', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir('rt-config-')));
  after(() => cleanup());

  test('a missing default file gives the built-in defaults', async () => {
    const { config, source, warnings } = await loadConfig({ env: {}, plugins, cwd: dir });
    assert.equal(source, 'defaults');
    assert.equal(config.stateDir, '/var/lib/trivy-mirror');
    assert.equal(config.admin.listen, '127.0.0.1:9180');
    assert.equal(config.log.level, 'info');
    assert.deepEqual(config.registries, []);
    assert.deepEqual(config.plugins.external, []);
    assert.deepEqual(config.plugins['oci-sync'], {
      schedule: '17 */6 * * *',
      artifacts: [{ name: 'trivy-db', tags: ['2'] }],
      keepVersions: 3,
    });
    assert.deepEqual(warnings, []);
  });

  test('a missing named file is an error (--config and TRIVY_MIRROR_CONFIG): missing, not invalid', async () => {
    await assert.rejects(loadConfig({ path: join(dir, 'nope.yaml'), env: {}, plugins }), (err: unknown) => {
      assert.ok(err instanceof MirrorError && !(err instanceof ConfigError));
      assert.equal(err.code, 'CONFIG_MISSING');
      assert.match(err.message, /nope\.yaml \(named by --config\) does not exist/);
      return true;
    });
    await assert.rejects(
      loadConfig({ env: { TRIVY_MIRROR_CONFIG: join(dir, 'env.yaml') }, plugins }),
      /env\.yaml/,
    );
  });

  test('errors name the YAML path and line:column, all at once', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      [
        'stateDir: ./state', // 1
        'admin:', // 2
        '  listen: nowhere', // 3
        'plugins:', // 4
        '  oci-sync:', // 5
        '    artifacts:', // 6
        '      - { name: trivy-db, tags: ["2"] }', // 7
        '      - name: trivy-java-db', // 8
        '        tags: 1', // 9
        '    keepVersion: 3', // 10
        'bogus: true', // 11
        '',
      ].join('\n'),
    );
    await assert.rejects(loadConfig({ path: file, env: {}, plugins }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const byPath = Object.fromEntries(err.issues.map((i) => [i.path, i]));
      assert.equal(byPath['plugins.oci-sync.artifacts[1].tags']?.line, 9);
      assert.equal(byPath['plugins.oci-sync.artifacts[1].tags']?.column, 15);
      assert.equal(byPath['admin.listen']?.line, 3);
      assert.equal(byPath['plugins.oci-sync.keepVersion']?.line, 10);
      assert.match(byPath['plugins.oci-sync.keepVersion']!.message, /unknown key/);
      assert.equal(byPath.bogus?.line, 11);
      assert.match(err.message, /plugins\.oci-sync\.artifacts\[1\]\.tags \(line 9, column 15\)/);
      assert.match(err.message, new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      return true;
    });
  });

  test('YAML syntax errors carry the line', async () => {
    const file = join(dir, 'syntax.yaml');
    await writeFile(file, 'admin:\n  listen: "unterminated\nstateDir: x\n');
    await assert.rejects(loadConfig({ path: file, env: {}, plugins }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.issues[0].line !== undefined);
      return true;
    });
  });

  test('relative stateDir is resolved against the config file; non-loopback admin warns', async () => {
    const file = join(dir, 'ok.yaml');
    await writeFile(file, 'stateDir: ./state\nadmin: { listen: "0.0.0.0:9180" }\n');
    const { config, source, warnings } = await loadConfig({ path: file, env: {}, plugins });
    assert.equal(source, file);
    assert.equal(config.stateDir, join(dir, 'state'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /not a loopback/);
  });

  test('env overrides: named variables and TRIVY_MIRROR__A__B', async () => {
    const file = join(dir, 'env.yaml');
    await writeFile(file, 'plugins:\n  oci-sync:\n    keepVersions: 2\n');
    const { config } = await loadConfig({
      path: file,
      plugins,
      env: {
        TRIVY_MIRROR_STATE_DIR: '/srv/mirror',
        TRIVY_MIRROR_ADMIN_LISTEN: '127.0.0.1:9999',
        TRIVY_MIRROR_SERVE_LISTEN: '0.0.0.0:8443',
        TRIVY_MIRROR_LOG_LEVEL: 'debug',
        TRIVY_MIRROR__PLUGINS__OCI_SYNC__KEEP_VERSIONS: '5',
        TRIVY_MIRROR__PLUGINS__OCI_SYNC__SCHEDULE: '"0 * * * *"',
        TRIVY_MIRROR__LOG__FORMAT: 'json',
      },
    });
    assert.equal(config.stateDir, '/srv/mirror');
    assert.equal(config.admin.listen, '127.0.0.1:9999');
    assert.equal(config.serve?.listen, '0.0.0.0:8443');
    assert.equal(config.log.level, 'debug');
    assert.equal(config.log.format, 'json');
    const oci = config.plugins['oci-sync'] as { keepVersions: number; schedule: string };
    assert.equal(oci.keepVersions, 5);
    assert.equal(oci.schedule, '0 * * * *');
  });

  test('an invalid env override names the variable', async () => {
    await assert.rejects(
      loadConfig({ env: { TRIVY_MIRROR_LOG_LEVEL: 'loud' }, plugins, cwd: dir }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.issues[0].path, 'log.level');
        assert.match(err.issues[0].message, /TRIVY_MIRROR_LOG_LEVEL/);
        return true;
      },
    );
  });
});

describe('configJsonSchema', () => {
  test('one JSON Schema with the runtime keys and every plugin section', () => {
    const schema = configJsonSchema(plugins) as {
      type: string;
      additionalProperties: boolean;
      properties: Record<string, { properties?: Record<string, { properties?: Record<string, unknown> }> }>;
    };
    assert.equal(schema.type, 'object');
    assert.equal(schema.additionalProperties, false);
    for (const key of ['stateDir', 'admin', 'serve', 'registries', 'log', 'plugins'])
      assert.ok(schema.properties[key], key);
    const pluginsSchema = schema.properties.plugins.properties!;
    assert.ok(pluginsSchema['oci-sync'].properties?.artifacts);
    assert.ok(pluginsSchema.external);
    JSON.parse(JSON.stringify(schema));
  });
});

describe('configExample', () => {
  test('assembles an example that loads and validates', async () => {
    const { dir, cleanup } = await tempDir('rt-example-');
    try {
      const text = configExample(plugins);
      assert.match(text, /TRIVY_MIRROR_STATE_DIR/);
      const file = join(dir, 'example.yaml');
      await writeFile(file, text);
      const { config } = await loadConfig({ path: file, env: {}, plugins });
      assert.equal(config.admin.listen, '127.0.0.1:9180');
      assert.equal((config.plugins['oci-sync'] as { keepVersions: number }).keepVersions, 4);
    } finally {
      await cleanup();
    }
  });
});

test('serve.auth is an alias of plugins.auth-providers.serve; both at once is an error', async () => {
  const { parseConfig } = await import('../src/config/config-loader.js');
  const { definePlugin } = await import('@trivy-mirror/plugin-api');
  const { z } = await import('zod');
  const auth = definePlugin({
    id: 'auth-providers',
    description: 'test stand-in',
    configSchema: z.strictObject({ serve: z.strictObject({ htpasswd: z.string() }).optional() }).prefault({}),
    module: () => {
      throw new Error('not used');
    },
  });
  const config = parseConfig({ serve: { listen: '127.0.0.1:8443', auth: { htpasswd: '/etc/htpasswd' } } }, [
    auth as never,
  ]);
  assert.deepEqual((config.plugins as Record<string, unknown>)['auth-providers'], {
    serve: { htpasswd: '/etc/htpasswd' },
  });
  assert.equal((config.serve as Record<string, unknown>).auth, undefined);
  assert.throws(
    () =>
      parseConfig(
        {
          serve: { listen: '127.0.0.1:8443', auth: { htpasswd: '/a' } },
          plugins: { 'auth-providers': { serve: { htpasswd: '/b' } } },
        },
        [auth as never],
      ),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.issues[0]?.path === 'serve.auth' &&
      /either/.test(err.issues[0].message),
  );
});

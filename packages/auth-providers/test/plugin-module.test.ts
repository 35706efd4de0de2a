// The plugin as the runtime loads it: definition, ContainerModule bindings, /status, redaction.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import plugin, { loadedSecrets, REDACTED, redactSecrets, SecretRegistry } from '@trivy-mirror/auth-providers';
import {
  ClientConfigContribution,
  CredentialProvider,
  HealthCheck,
  LifecycleContribution,
  type PluginContext,
  ServeAuthenticator,
} from '@trivy-mirror/plugin-api';
import bcrypt from 'bcryptjs';
import { Container } from 'inversify';
import { writeFile } from 'node:fs/promises';
import { memoryLogger, tempDir, withEnv, writeSecret } from './test-helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => {
  ({ dir, cleanup } = await tempDir());
});
after(async () => cleanup());

function context(logger: PluginContext['logger']): PluginContext {
  return {
    id: 'auth-providers',
    stateDir: dir,
    pluginDir: join(dir, 'plugins/auth-providers'),
    logger,
    mode: 'cli',
  };
}

describe('plugin module', () => {
  test('binds providers in config order, health, lifecycle; no serve contributions without serve', async () => {
    const log = memoryLogger();
    const config = plugin.configSchema.parse({ order: ['docker-config', 'static', 'anonymous'] });
    const container = new Container();
    container.load(plugin.module(config, context(log.logger)));
    const providers = container.getAll<CredentialProvider>(CredentialProvider, { optional: true });
    assert.deepEqual(
      providers.map((p) => [p.id, p.order]),
      [
        ['docker-config', 100],
        ['static', 110],
        ['anonymous', 120],
      ],
    );
    assert.equal(container.getAll(HealthCheck, { optional: true }).length, 1);
    assert.equal(container.getAll(LifecycleContribution, { optional: true }).length, 1);
    assert.equal(container.getAll(ServeAuthenticator, { optional: true }).length, 0);
    assert.equal(container.getAll(ClientConfigContribution, { optional: true }).length, 0);
    assert.ok(plugin.exampleConfig?.includes('passwordFile'));
  });

  test('with serve: authenticator and client-config; /status shows sources but no secrets', async () => {
    const log = memoryLogger();
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `alice:${bcrypt.hashSync('alice-status-pw', 5)}\n`);
    const pw = await writeSecret(join(dir, 'pw'), 'status-secret-pw');
    const token = await writeSecret(join(dir, 'token'), 'status-secret-token');
    const config = plugin.configSchema.parse({
      dockerConfig: false,
      credentials: [
        { host: 'ghcr.io', username: 'bot', passwordFile: pw },
        { url: 'https://github.com/', tokenFile: token },
      ],
      serve: { htpasswd, tokens: [{ file: token }], realm: 'bastion' },
    });
    const container = new Container();
    container.load(plugin.module(config, context(log.logger)));
    assert.deepEqual(
      container.getAll<CredentialProvider>(CredentialProvider).map((p) => p.id),
      ['static', 'anonymous'],
      'dockerConfig: false drops the provider',
    );
    const [lifecycle] = container.getAll<LifecycleContribution>(LifecycleContribution);
    await lifecycle.start?.(new AbortController().signal);
    const [auth] = container.getAll<ServeAuthenticator>(ServeAuthenticator);
    assert.equal(auth.realm, 'bastion');
    const providers = container.getAll<CredentialProvider>(CredentialProvider);
    await providers[0].forRegistry?.('ghcr.io');
    await providers[0].forUrl?.(new URL('https://github.com/aquasecurity/vexhub'));
    await providers[1].forRegistry?.('mirror.gcr.io');
    const [health] = container.getAll<HealthCheck>(HealthCheck);
    const report = await health.check();
    assert.equal(report.ready, true);
    const status = report.status as Record<string, unknown>;
    assert.deepEqual(status.providers, ['static (order 100)', 'anonymous (order 120)']);
    const served = status.served as Record<string, { provider: string }>;
    assert.equal(served['ghcr.io'].provider, 'static');
    assert.equal(served['https://github.com'].provider, 'static');
    assert.equal(served['mirror.gcr.io'].provider, 'anonymous');
    assert.deepEqual(status.credentials, [
      { target: 'ghcr.io', auth: 'basic', from: `file ${pw}` },
      { target: 'https://github.com/', auth: 'token', from: `file ${token}` },
    ]);
    assert.deepEqual(status.serve, { realm: 'bastion', htpasswd, users: 1, tokens: 1 });
    const text = JSON.stringify(report) + log.text();
    assert.deepEqual(loadedSecrets.leaks(text), []);
    assert.ok(loadedSecrets.values().includes('status-secret-pw'), 'loaded secrets are known');
    assert.equal(container.getAll(ClientConfigContribution).length, 1);
  });

  test('the plugin finds the machine environment when no env is injected', async () => {
    await withEnv({ TM_TEST_PASS: 'env-pass-xyz' }, async () => {
      const log = memoryLogger();
      const config = plugin.configSchema.parse({
        order: ['static'],
        credentials: [{ host: 'r.example', username: 'u', passwordEnv: 'TM_TEST_PASS' }],
      });
      const container = new Container();
      container.load(plugin.module(config, context(log.logger)));
      const [p] = container.getAll<CredentialProvider>(CredentialProvider);
      assert.equal((await p.forRegistry?.('r.example'))?.password, 'env-pass-xyz');
    });
  });
});

describe('redact', () => {
  test('redactSecrets replaces every occurrence, longest first', () => {
    assert.equal(
      redactSecrets('a hunter2 b hunter2x c', ['hunter2', 'hunter2x', '']),
      `a ${REDACTED} b ${REDACTED} c`,
    );
    assert.equal(redactSecrets('nothing here', ['zzz']), 'nothing here');
  });

  test('SecretRegistry remembers values and Basic forms, reports leaks', () => {
    const reg = new SecretRegistry();
    reg.addBasic('user', 'pw-123');
    reg.add(undefined, '');
    assert.equal(reg.size, 3);
    const header = `Basic ${Buffer.from('user:pw-123').toString('base64')}`;
    assert.deepEqual(reg.leaks(header), [Buffer.from('user:pw-123').toString('base64')]);
    assert.equal(reg.redact(`Authorization: ${header}`), `Authorization: Basic ${REDACTED}`);
    reg.clear();
    assert.equal(reg.size, 0);
  });
});

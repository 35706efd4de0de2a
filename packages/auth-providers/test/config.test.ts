// The config section: defaults, strictness, and secrets that are refused inline.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import plugin, { authProvidersConfigSchema } from '@trivy-mirror/auth-providers';

function issues(input: unknown): { path: string; message: string }[] {
  const result = authProvidersConfigSchema.safeParse(input);
  assert.equal(result.success, false, 'expected the config to be rejected');
  return result.error!.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('config schema', () => {
  test('defaults', () => {
    const config = authProvidersConfigSchema.parse({});
    assert.deepEqual(config.order, ['static', 'docker-config', 'anonymous']);
    assert.equal(config.dockerConfig, true);
    assert.deepEqual(config.credentials, []);
    assert.equal(config.serve, undefined);
    assert.equal(plugin.id, 'auth-providers');
    assert.equal(plugin.configSchema, authProvidersConfigSchema);
  });

  test('accepts the documented shapes', () => {
    const config = authProvidersConfigSchema.parse({
      order: ['docker-config', 'static', 'anonymous'],
      dockerConfig: { path: '/root/.docker/config.json' },
      credentials: [
        { host: 'ghcr.io', username: 'bot', passwordFile: '/run/credentials/trivy-mirror/ghcr' },
        { host: 'registry.internal:5000', usernameEnv: 'REG_USER', passwordEnv: 'REG_PASS' },
        { host: 'registry.other', tokenFile: '/etc/x/token' },
        { url: 'https://github.com/', tokenEnv: 'GITHUB_TOKEN' },
        { host: 'x', username: 'u', passwordCredential: 'ghcr' },
      ],
      serve: { htpasswd: '/etc/trivy-mirror/htpasswd', tokens: [{ file: '/etc/trivy-mirror/client-token' }] },
    });
    assert.equal(config.serve?.realm, 'trivy-mirror');
    assert.equal(config.credentials.length, 5);
  });

  test('an inline password is a config error that names the alternatives', () => {
    const found = issues({ credentials: [{ host: 'ghcr.io', username: 'bot', password: 'hunter2' }] });
    const inline = found.find((i) => i.path === 'credentials.0.password');
    assert.ok(inline, JSON.stringify(found));
    assert.match(inline.message, /never accepted inline/);
    assert.match(inline.message, /passwordFile, passwordEnv or passwordCredential/);
    assert.ok(!JSON.stringify(found).includes('hunter2'), 'the error must not echo the secret');
  });

  test('an inline token (credentials or serve) is a config error', () => {
    const found = issues({ credentials: [{ url: 'https://github.com/', token: 'ghp_x' }] });
    assert.ok(found.some((i) => i.path === 'credentials.0.token' && /tokenFile/.test(i.message)));
    const serve = issues({ serve: { tokens: [{ token: 'abc' }] } });
    assert.ok(
      serve.some((i) => i.path === 'serve.tokens.0.token' && /never accepted inline/.test(i.message)),
    );
  });

  test('rejects unknown keys, missing sources, both host and url, and URLs as hosts', () => {
    assert.ok(issues({ bogus: 1 }).length > 0);
    assert.ok(
      issues({ credentials: [{ host: 'a', username: 'u' }] }).some((i) => /passwordFile/.test(i.message)),
    );
    assert.ok(
      issues({ credentials: [{ host: 'a', url: 'https://a/', tokenEnv: 'T' }] }).some((i) =>
        /exactly one of host/.test(i.message),
      ),
    );
    assert.ok(
      issues({ credentials: [{ host: 'https://ghcr.io', tokenEnv: 'T' }] }).some(
        (i) => i.path === 'credentials.0.host',
      ),
    );
    assert.ok(
      issues({ credentials: [{ host: 'a', tokenEnv: 'T', passwordEnv: 'P', username: 'u' }] }).some((i) =>
        /not both/.test(i.message),
      ),
    );
    assert.ok(issues({ order: ['static', 'static'] }).length > 0);
    assert.ok(issues({ serve: {} }).some((i) => /htpasswd and\/or tokens/.test(i.message)));
  });
});

// Access control for the serving listener: htpasswd (bcrypt) Basic logins and static bearer tokens.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  authProvidersConfigSchema,
  createAuthProviders,
  HtpasswdFile,
  HtpasswdTokenAuthenticator,
  SecretReader,
} from '@trivy-mirror/auth-providers';
import { ConfigError } from '@trivy-mirror/plugin-api';
import bcrypt from 'bcryptjs';
import { basicHeader, memoryLogger, tempDir, writeSecret } from './test-helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let htpasswd: string;
let tokenFile: string;

before(async () => {
  ({ dir, cleanup } = await tempDir());
  htpasswd = join(dir, 'htpasswd');
  await writeFile(
    htpasswd,
    `# clients\nalice:${bcrypt.hashSync('alice-pw', 5)}\nbob:${bcrypt.hashSync('bob-pw', 5).replace('$2b$', '$2y$')}\n\n`,
  );
  tokenFile = await writeSecret(join(dir, 'client-token'), 'client-token-value\n');
});
after(async () => cleanup());

/** The authenticator reads only the headers of a request. */
function req(authorization?: string): IncomingMessage {
  return { headers: authorization === undefined ? {} : { authorization } } as IncomingMessage;
}

async function started(serve: unknown, env: NodeJS.ProcessEnv = {}) {
  const log = memoryLogger();
  const config = authProvidersConfigSchema.parse({ order: ['anonymous'], serve });
  const parts = createAuthProviders(config, { logger: log.logger }, { env });
  await parts.lifecycle.start(new AbortController().signal);
  assert.ok(parts.authenticator);
  return { ...parts, authenticator: parts.authenticator, log };
}

describe('serve authenticator', () => {
  test('htpasswd bcrypt: granted, denied, absent', async () => {
    const { authenticator, log } = await started({ htpasswd });
    assert.equal(authenticator.realm, 'trivy-mirror');
    assert.equal(await authenticator.authenticate(req(basicHeader('alice', 'alice-pw'))), 'granted');
    assert.equal(
      await authenticator.authenticate(req(basicHeader('bob', 'bob-pw'))),
      'granted',
      '$2y$ entries',
    );
    assert.equal(await authenticator.authenticate(req(basicHeader('alice', 'wrong'))), 'denied');
    assert.equal(await authenticator.authenticate(req(basicHeader('mallory', 'alice-pw'))), 'denied');
    assert.equal(await authenticator.authenticate(req(basicHeader('alice', ''))), 'denied');
    assert.equal(await authenticator.authenticate(req('Basic !!!not-base64')), 'denied');
    assert.equal(await authenticator.authenticate(req('Digest username="alice"')), 'denied');
    assert.equal(await authenticator.authenticate(req('Bearer whatever')), 'denied', 'no tokens configured');
    assert.equal(await authenticator.authenticate(req()), 'absent');
    assert.ok(!log.text().includes('alice-pw'));
  });

  test('a verified login is cached: bcrypt runs once per user and password', async () => {
    const { authenticator } = await started({ htpasswd });
    const pool = authenticator.pool;
    const original = pool.compare;
    let calls = 0;
    pool.compare = (...args: Parameters<typeof original>) => {
      calls++;
      return original.apply(pool, args);
    };
    try {
      for (let i = 0; i < 5; i++) {
        assert.equal(await authenticator.authenticate(req(basicHeader('alice', 'alice-pw'))), 'granted');
      }
      assert.equal(calls, 1);
      assert.equal(await authenticator.authenticate(req(basicHeader('alice', 'wrong'))), 'denied');
      assert.equal(await authenticator.authenticate(req(basicHeader('alice', 'wrong'))), 'denied');
      assert.equal(calls, 3, 'failures are never cached as success');
    } finally {
      pool.compare = original;
    }
  });

  test('static bearer tokens from a file and from env', async () => {
    const { authenticator } = await started(
      { tokens: [{ file: tokenFile }, { env: 'CLIENT_TOKEN' }] },
      {
        CLIENT_TOKEN: 'env-token-value',
      },
    );
    assert.equal(await authenticator.authenticate(req('Bearer client-token-value')), 'granted');
    assert.equal(await authenticator.authenticate(req('bearer env-token-value')), 'granted');
    assert.equal(await authenticator.authenticate(req('Bearer client-token-valu')), 'denied');
    assert.equal(await authenticator.authenticate(req('Bearer ')), 'denied');
    assert.equal(
      await authenticator.authenticate(req(basicHeader('alice', 'alice-pw'))),
      'denied',
      'no htpasswd',
    );
  });

  test('non-bcrypt entries are a config error naming file, line and user (not the hash)', async () => {
    const bad = join(dir, 'htpasswd-bad');
    await writeFile(
      bad,
      `alice:${bcrypt.hashSync('x', 5)}\ncarol:$apr1$abcdefgh$0123456789abcdefghijkl\ndave:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n`,
    );
    const log = memoryLogger();
    const config = authProvidersConfigSchema.parse({ serve: { htpasswd: bad } });
    const { lifecycle } = createAuthProviders(config, { logger: log.logger }, { env: {} });
    await assert.rejects(lifecycle.start(new AbortController().signal), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /htpasswd-bad line 2 \(user carol\): only bcrypt entries/);
      assert.match(err.message, /line 3 \(user dave\)/);
      assert.ok(!err.message.includes('$apr1$') && !err.message.includes('W6ph5'));
      assert.ok(err.issues.every((i) => i.path === 'plugins.auth-providers.serve.htpasswd'));
      return true;
    });
    const missing = createAuthProviders(
      authProvidersConfigSchema.parse({
        serve: { htpasswd: join(dir, 'nope'), tokens: [{ env: 'UNSET_TOKEN' }] },
      }),
      { logger: log.logger },
      { env: {} },
    );
    await assert.rejects(missing.lifecycle.start(new AbortController().signal), (err: Error) => {
      assert.match(err.message, /serve\.tokens\[0\]\.env: environment variable UNSET_TOKEN is not set/);
      assert.match(err.message, /serve\.htpasswd: .*nope: no such file/);
      return true;
    });
  });

  test('the htpasswd file is re-read when it changes; an invalid change denies everyone', async () => {
    const file = join(dir, 'htpasswd-live');
    await writeFile(file, `alice:${bcrypt.hashSync('one', 5)}\n`);
    const log = memoryLogger();
    const live = new HtpasswdFile(file, { logger: log.logger, checkIntervalMs: 0 });
    await live.load();
    const auth = new HtpasswdTokenAuthenticator({
      htpasswd: live,
      reader: new SecretReader({ logger: log.logger }),
      logger: log.logger,
    });
    assert.equal(await auth.authenticate(req(basicHeader('alice', 'one'))), 'granted');
    await writeFile(file, `alice:${bcrypt.hashSync('two', 5)}\nerin:${bcrypt.hashSync('erin-pw', 5)}\n`);
    assert.equal(
      await auth.authenticate(req(basicHeader('alice', 'one'))),
      'denied',
      'cache dropped on change',
    );
    assert.equal(await auth.authenticate(req(basicHeader('alice', 'two'))), 'granted');
    assert.equal(await auth.authenticate(req(basicHeader('erin', 'erin-pw'))), 'granted');
    await writeFile(file, 'alice:plaintext\n');
    assert.equal(await auth.authenticate(req(basicHeader('alice', 'two'))), 'denied');
    assert.ok(log.lines().some((l) => l.level === 50 && /denying all Basic logins/.test(String(l.msg))));
    assert.ok(!log.text().includes('plaintext'));
  });

  test('client-config names trivy registry login, env vars and the VEX repository.yaml fields', async () => {
    const { clientConfig } = await started({ htpasswd, tokens: [{ file: tokenFile }] });
    const section = clientConfig!.render({ publicUrl: 'https://bastion.example:8443' })!;
    const text = JSON.stringify(section);
    assert.match(text, /trivy registry login --username USER --password-stdin bastion\.example:8443/);
    assert.deepEqual(Object.keys(section.env ?? {}).sort(), [
      'TRIVY_PASSWORD',
      'TRIVY_REGISTRY_TOKEN',
      'TRIVY_USERNAME',
    ]);
    assert.match(text, /username: USER/);
    assert.match(text, /password: PASSWORD/);
    assert.match(text, /token: TOKEN/);
    assert.ok(!text.includes('client-token-value'));
  });
});

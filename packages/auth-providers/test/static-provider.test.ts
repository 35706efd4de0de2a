// The static provider with real secret files, env vars and $CREDENTIALS_DIRECTORY; start-up checks.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  authProvidersConfigSchema,
  createAuthProviders,
  createCredentialStore,
  loadedSecrets,
  SecretReader,
  StaticCredentialProvider,
  SecretRegistry,
} from '@trivy-mirror/auth-providers';
import { ConfigError } from '@trivy-mirror/plugin-api';
import { memoryLogger, tempDir, writeSecret } from './test-helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => {
  ({ dir, cleanup } = await tempDir());
});
after(async () => cleanup());

function build(input: unknown, env: NodeJS.ProcessEnv = {}) {
  const log = memoryLogger();
  const config = authProvidersConfigSchema.parse(input);
  const parts = createAuthProviders(config, { logger: log.logger }, { env });
  return { ...parts, store: createCredentialStore(parts.providers), log };
}

describe('static provider', () => {
  test('username inline, password from a file (trailing newline trimmed)', async () => {
    const file = await writeSecret(join(dir, 'ghcr'), 's3cret-from-file\n');
    const { store, lifecycle, log } = build({
      order: ['static', 'anonymous'],
      credentials: [{ host: 'ghcr.io', username: 'bot', passwordFile: file }],
    });
    await lifecycle.start(new AbortController().signal);
    const cred = await store.forRegistry('ghcr.io');
    assert.equal(cred?.username, 'bot');
    assert.equal(cred?.password, 's3cret-from-file');
    assert.match(cred!.source, /static credentials\[0\] \(file .*ghcr\)/);
    assert.ok(!cred!.source.includes('s3cret'));
    assert.deepEqual(await store.forRegistry('GHCR.IO'), cred, 'hosts are case-insensitive');
    assert.equal(await store.forRegistry('ghcr.io:443'), undefined, 'exact host[:port] match');
    assert.equal(await store.forRegistry('other.example'), undefined);
    assert.ok(!log.text().includes('s3cret-from-file'), 'no secret in logs');
  });

  test('username and password from env vars', async () => {
    const { store } = build(
      { credentials: [{ host: 'registry.internal:5000', usernameEnv: 'REG_USER', passwordEnv: 'REG_PASS' }] },
      { REG_USER: 'envuser', REG_PASS: 'envpass' },
    );
    const cred = await store.forRegistry('registry.internal:5000');
    assert.deepEqual(
      { u: cred?.username, p: cred?.password, s: cred?.source },
      { u: 'envuser', p: 'envpass', s: 'static credentials[0] (env REG_PASS)' },
    );
    assert.ok(loadedSecrets.values().includes('envpass'), 'the password is a known secret');
    assert.ok(!loadedSecrets.values().includes('envuser'), 'a user name is not');
  });

  test('systemd credential from $CREDENTIALS_DIRECTORY', async () => {
    const credDir = join(dir, 'credentials');
    await mkdir(credDir, { mode: 0o700 });
    await writeSecret(join(credDir, 'ghcr'), 'from-systemd', 0o400);
    const { store, lifecycle } = build(
      { credentials: [{ host: 'x.example', username: 'svc', passwordCredential: 'ghcr' }] },
      { CREDENTIALS_DIRECTORY: credDir },
    );
    await lifecycle.start(new AbortController().signal);
    assert.equal((await store.forRegistry('x.example'))?.password, 'from-systemd');
  });

  test('tokens: registry token by host, bearer by URL prefix (longest wins, path boundary)', async () => {
    const t1 = await writeSecret(join(dir, 'regtoken'), 'registry-token-1');
    const { store } = build(
      {
        credentials: [
          { host: 'registry.other', tokenFile: t1 },
          { url: 'https://github.com/', tokenEnv: 'GITHUB_TOKEN' },
          { url: 'https://github.com/acme', usernameEnv: 'GH_USER', passwordEnv: 'GH_PASS' },
        ],
      },
      { GITHUB_TOKEN: 'gh-token', GH_USER: 'acme-bot', GH_PASS: 'acme-pass' },
    );
    const reg = await store.forRegistry('registry.other');
    assert.equal(reg?.registryToken, 'registry-token-1');
    assert.equal(reg?.password, undefined);
    assert.equal(
      (await store.forUrl('https://github.com/aquasecurity/vexhub/archive/main.zip'))?.token,
      'gh-token',
    );
    const acme = await store.forUrl('https://github.com/acme/vex');
    assert.deepEqual([acme?.username, acme?.password, acme?.token], ['acme-bot', 'acme-pass', undefined]);
    assert.equal((await store.forUrl('https://github.com/acmecorp/vex'))?.token, 'gh-token', 'not /acme');
    assert.equal(await store.forUrl('https://example.com/x'), undefined);
    assert.equal(await store.forUrl('http://github.com/x'), undefined, 'scheme is part of the prefix');
    assert.equal(
      await store.forRegistry('github.com'),
      undefined,
      'URL entries are not registry credentials',
    );
  });

  test('Docker Hub aliases are one host', async () => {
    const { store } = build(
      { credentials: [{ host: 'index.docker.io', username: 'hub', passwordEnv: 'P' }] },
      { P: 'pw' },
    );
    for (const host of ['docker.io', 'registry-1.docker.io', 'index.docker.io']) {
      assert.equal((await store.forRegistry(host))?.username, 'hub', host);
    }
  });

  test('a group/world-readable secret file logs a warning naming the file, not the content', async () => {
    const file = await writeSecret(join(dir, 'loose'), 'loose-secret-value', 0o644);
    const { store, lifecycle, log } = build({
      credentials: [{ host: 'a.example', username: 'u', passwordFile: file }],
    });
    await lifecycle.start(new AbortController().signal);
    await store.forRegistry('a.example');
    const warnings = log.lines().filter((l) => l.level === 40);
    assert.equal(warnings.length, 1, 'warned once');
    assert.equal(warnings[0].file, file);
    assert.equal(warnings[0].mode, '0644');
    assert.match(String(warnings[0].msg), /readable by group or others/);
    assert.ok(!log.text().includes('loose-secret-value'));
  });

  test('missing file and unset env var stop start-up with errors naming the config keys', async () => {
    const { lifecycle, store, log, health } = build(
      {
        credentials: [
          { host: 'a.example', username: 'u', passwordFile: '/nonexistent/x' },
          { host: 'b.example', usernameEnv: 'NOPE_USER', passwordEnv: 'NOPE_PASS' },
          { host: 'c.example', username: 'u', passwordCredential: 'c' },
        ],
      },
      {},
    );
    const err = await lifecycle.start(new AbortController().signal).then(
      () => assert.fail('start should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConfigError);
    assert.match(
      err.message,
      /plugins\.auth-providers\.credentials\[0\]\.passwordFile: \/nonexistent\/x: no such file/,
    );
    assert.match(
      err.message,
      /plugins\.auth-providers\.credentials\[1\]\.usernameEnv: environment variable NOPE_USER is not set/,
    );
    assert.match(err.message, /credentials\[2\]\.passwordCredential: c: \$CREDENTIALS_DIRECTORY is not set/);
    assert.deepEqual(
      err.issues.map((i) => i.path),
      [
        'plugins.auth-providers.credentials[0].passwordFile',
        'plugins.auth-providers.credentials[1].usernameEnv',
        'plugins.auth-providers.credentials[1].passwordEnv',
        'plugins.auth-providers.credentials[2].passwordCredential',
      ],
    );
    // At use time the same error reaches the caller (e.g. the registry client).
    await assert.rejects(
      store.forRegistry('a.example'),
      /credentials\[0\]\.passwordFile: \/nonexistent\/x: no such file/,
    );
    // …and is logged and shown in /status, because the registry client treats a failed lookup as anonymous.
    const logged = log.lines().find((l) => l.msg === 'credential lookup failed');
    assert.match(String((logged?.err as { message?: string })?.message), /credentials\[0\]\.passwordFile/);
    assert.equal(logged?.target, 'a.example');
    const served = (await health.check()).status?.served as Record<
      string,
      { provider: string; error?: string }
    >;
    assert.equal(served['a.example'].provider, 'static');
    assert.match(served['a.example'].error ?? '', /no such file/);
  });

  test('secrets are re-read after the cache expires (rotation)', async () => {
    const file = await writeSecret(join(dir, 'rotating'), 'old-password');
    let now = 1_000_000;
    const log = memoryLogger();
    const secrets = new SecretRegistry();
    const reader = new SecretReader({ logger: log.logger, ttlMs: 5000, now: () => now, secrets });
    const provider = new StaticCredentialProvider(
      [{ host: 'r.example', username: 'u', passwordFile: file }],
      reader,
      100,
    );
    assert.equal((await provider.forRegistry('r.example'))?.password, 'old-password');
    await writeFile(file, 'new-password');
    now += 1000;
    assert.equal((await provider.forRegistry('r.example'))?.password, 'old-password', 'cached');
    now += 5000;
    assert.equal((await provider.forRegistry('r.example'))?.password, 'new-password', 'rotated');
    assert.deepEqual(secrets.values().sort(), ['new-password', 'old-password']);
  });
});

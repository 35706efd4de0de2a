// End to end: every credential source of the built CLI's `copy` against a docker-registry that requires
// htpasswd auth (a password file, an environment variable, docker config auths, a credential helper),
// and a clear 401 naming the host when they are wrong or missing; no output holds a secret (set-up:
// helpers/auth-suite.ts).
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type AuthSuite,
  PUSH_SECRET,
  PUSH_USER,
  startAuthSuite,
  WRONG_SECRET,
} from './helpers/auth-suite.js';

describe('auth: credentials for registries and access control for clients', { timeout: 85_000 }, () => {
  let auth: AuthSuite;
  before(async () => (auth = await startAuthSuite()));
  after(() => auth?.stop());

  test('copy with a password file from the config (plugins.auth-providers.credentials[].passwordFile)', async () => {
    const secretFile = join(auth.dir, 'push-password');
    await writeFile(secretFile, `${PUSH_SECRET}\n`, { mode: 0o600 });
    await chmod(secretFile, 0o600);
    const cfg = await auth.copyConfig('copy-file', `passwordFile: ${secretFile}`);
    const r = await auth.copy('by-file/trivy-db', ['--config', cfg]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await auth.pushedDigest('by-file/trivy-db'), auth.artifact.manifestDigest);
  });

  test('copy with a password from an environment variable (passwordEnv)', async () => {
    const cfg = await auth.copyConfig('copy-env', 'passwordEnv: E2E_PUSH_PASSWORD');
    const r = await auth.copy('by-env/trivy-db', ['--config', cfg], { E2E_PUSH_PASSWORD: PUSH_SECRET });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await auth.pushedDigest('by-env/trivy-db'), auth.artifact.manifestDigest);
  });

  test('copy with docker config auths (DOCKER_CONFIG)', async () => {
    const dockerDir = join(auth.dir, 'docker-auths');
    await mkdir(dockerDir, { recursive: true });
    await writeFile(
      join(dockerDir, 'config.json'),
      JSON.stringify({
        auths: {
          [auth.registry.host]: { auth: Buffer.from(`${PUSH_USER}:${PUSH_SECRET}`).toString('base64') },
        },
      }),
      { mode: 0o600 },
    );
    const r = await auth.copy('by-docker-config/trivy-db', [], { DOCKER_CONFIG: dockerDir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await auth.pushedDigest('by-docker-config/trivy-db'), auth.artifact.manifestDigest);
  });

  test('copy with a credential helper on PATH (credHelpers)', async () => {
    const dockerDir = join(auth.dir, 'docker-helper');
    await mkdir(dockerDir, { recursive: true });
    await writeFile(
      join(dockerDir, 'config.json'),
      JSON.stringify({ credHelpers: { [auth.registry.host]: 'e2etest' } }),
    );
    const helper = join(auth.dir, 'bin', 'docker-credential-e2etest');
    // Answers `get` for our registry only, like real helpers; logs what it was asked.
    await writeFile(
      helper,
      `#!/bin/sh
[ "$1" = get ] || exit 1
read -r host
echo "$host" >> "${auth.dir}/helper-calls.log"
case "$host" in
  *${auth.registry.host}*) printf '{"ServerURL":"%s","Username":"${PUSH_USER}","Secret":"%s"}\\n' "$host" "$(cat "${auth.dir}/helper-secret")" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
      { mode: 0o755 },
    );
    await writeFile(join(auth.dir, 'helper-secret'), PUSH_SECRET, { mode: 0o600 });
    const r = await auth.copy('by-helper/trivy-db', [], {
      DOCKER_CONFIG: dockerDir,
      PATH: `${join(auth.dir, 'bin')}:${process.env.PATH}`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await auth.pushedDigest('by-helper/trivy-db'), auth.artifact.manifestDigest);
    assert.match(
      await readFile(join(auth.dir, 'helper-calls.log'), 'utf8'),
      new RegExp(auth.registry.host.replace('.', '\\.')),
    );
  });

  test('copy fails with a clear 401 naming the host when credentials are wrong or missing', async () => {
    const wrong = await auth.copyConfig('copy-wrong', 'passwordEnv: E2E_PUSH_PASSWORD');
    const cases: { name: string; args: string[]; env: Record<string, string> }[] = [
      { name: 'wrong password', args: ['--config', wrong], env: { E2E_PUSH_PASSWORD: WRONG_SECRET } },
      { name: 'no credentials', args: [], env: {} },
    ];
    for (const c of cases) {
      const r = await auth.copy('denied/trivy-db', c.args, c.env);
      assert.equal(r.code, 1, `${c.name}: exit ${r.code}`);
      assert.match(r.stderr, /401|UNAUTHORIZED/i, `${c.name}: ${r.stderr}`);
      assert.ok(r.stderr.includes(auth.registry.host), `${c.name}: stderr names the host: ${r.stderr}`);
      assert.ok(r.stderr.split('\n').length < 15, `${c.name}: short message, not a stack: ${r.stderr}`);
    }
    assert.equal(await auth.pushedDigest('denied/trivy-db'), 'HTTP 404');
  });
});

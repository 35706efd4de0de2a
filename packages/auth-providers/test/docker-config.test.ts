// The docker-config provider against real files: config.json auths, $DOCKER_CONFIG, Podman auth.json,
// and real credential helper executables found on PATH.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  authProvidersConfigSchema,
  CredentialError,
  createAuthProviders,
  createCredentialStore,
  credentialHelperGet,
  DockerConfigProvider,
} from '@trivy-mirror/auth-providers';
import { ConfigError } from '@trivy-mirror/plugin-api';
import { memoryLogger, tempDir, withEnv, writeCredentialHelper } from './test-helpers.js';

let dir: string;
let bin: string;
let cleanup: () => Promise<void>;
const b64 = (s: string) => Buffer.from(s).toString('base64');

before(async () => {
  ({ dir, cleanup } = await tempDir());
  bin = join(dir, 'bin');
  await mkdir(bin);
  // Records the server URL it got on stdin, answers for two hosts, and "not found" for the rest.
  await writeCredentialHelper(
    bin,
    'testhelper',
    `printf '%s' "$server" > "${join(dir, 'helper-stdin')}"
case "$server" in
  helper.example:5000) printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper-secret"}' "$server" ;;
  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"hub-user","Secret":"hub-secret"}' "$server" ;;
  token.example) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-token-1"}' "$server" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac`,
  );
  await writeCredentialHelper(
    bin,
    'broken',
    `echo "leaky-helper-output $server" >&2; echo '{"Secret":"leaky-secret"'; exit 3`,
  );
  await writeCredentialHelper(bin, 'garbage', `echo 'Secret: not-json-secret'`);
  await writeCredentialHelper(bin, 'slow', 'sleep 5');
});
after(async () => cleanup());

/** Env for one case: isolated docker/podman locations, the test helpers first on PATH. */
function envFor(extra: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    DOCKER_CONFIG: undefined,
    REGISTRY_AUTH_FILE: undefined,
    XDG_RUNTIME_DIR: undefined,
    HOME: join(dir, 'home-none'),
    PATH: `${bin}:${process.env.PATH}`,
    ...extra,
  };
}

async function writeJson(path: string, value: unknown): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, JSON.stringify(value), { mode: 0o600 });
  return path;
}

describe('docker-config provider', () => {
  test('auths from $DOCKER_CONFIG/config.json: base64 auth, username/password, identitytoken', async () => {
    const cfgDir = join(dir, 'docker1');
    await writeJson(join(cfgDir, 'config.json'), {
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass:with:colons') },
        'ghcr.io': { username: 'gh', password: 'ghpass' },
        'http://reg.local:5000/v2/': { auth: b64('<token>:'), identitytoken: 'idtok-123' },
        'empty.example': {},
      },
    });
    await withEnv(envFor({ DOCKER_CONFIG: cfgDir }), async () => {
      const provider = new DockerConfigProvider(110);
      assert.deepEqual(provider.files(), [join(cfgDir, 'config.json')]);
      const hub = await provider.forRegistry('registry-1.docker.io');
      assert.deepEqual([hub?.username, hub?.password], ['hubuser', 'hub:pass:with:colons']);
      assert.match(hub!.source, /^docker-config .*config\.json auths$/);
      const gh = await provider.forRegistry('ghcr.io');
      assert.deepEqual([gh?.username, gh?.password], ['gh', 'ghpass']);
      const id = await provider.forRegistry('reg.local:5000');
      assert.equal(id?.identityToken, 'idtok-123');
      assert.equal(id?.password, undefined);
      assert.equal(await provider.forRegistry('empty.example'), undefined);
      assert.equal(await provider.forRegistry('unknown.example'), undefined);
      const summary = await provider.summary();
      assert.ok(!JSON.stringify(summary).includes('ghpass'));
      assert.deepEqual(summary[0].auths.sort(), ['docker.io', 'empty.example', 'ghcr.io', 'reg.local:5000']);
    });
  });

  test('~/.docker/config.json when $DOCKER_CONFIG is unset; re-read after a change', async () => {
    const home = join(dir, 'home');
    const file = await writeJson(join(home, '.docker', 'config.json'), {
      auths: { 'r.example': { auth: b64('u1:p1') } },
    });
    await withEnv(envFor({ HOME: home }), async () => {
      const provider = new DockerConfigProvider(110);
      assert.equal((await provider.forRegistry('r.example'))?.password, 'p1');
      await writeJson(file, { auths: { 'r.example': { auth: b64('u1:p2-rotated') } } });
      assert.equal((await provider.forRegistry('r.example'))?.password, 'p2-rotated');
    });
  });

  test('Podman: $REGISTRY_AUTH_FILE and $XDG_RUNTIME_DIR/containers/auth.json, after docker config', async () => {
    const cfgDir = join(dir, 'docker2');
    await writeJson(join(cfgDir, 'config.json'), {
      auths: { 'both.example': { auth: b64('docker:dpass') } },
    });
    const authFile = await writeJson(join(dir, 'podman', 'auth.json'), {
      auths: { 'both.example': { auth: b64('podman:ppass') }, 'podman.example': { auth: b64('pod:man') } },
    });
    const runtime = join(dir, 'run-user');
    await writeJson(join(runtime, 'containers', 'auth.json'), {
      auths: { 'xdg.example': { auth: b64('x:dg') } },
    });
    await withEnv(
      envFor({ DOCKER_CONFIG: cfgDir, REGISTRY_AUTH_FILE: authFile, XDG_RUNTIME_DIR: runtime }),
      async () => {
        const provider = new DockerConfigProvider(110);
        assert.equal((await provider.forRegistry('both.example'))?.username, 'docker');
        const pod = await provider.forRegistry('podman.example');
        assert.equal(pod?.password, 'man');
        assert.match(pod!.source, /podman\/auth\.json auths/);
        assert.equal((await provider.forRegistry('xdg.example'))?.password, 'dg');
      },
    );
  });

  test('credHelpers: runs docker-credential-NAME get with the host on stdin and parses its JSON', async () => {
    const cfgDir = join(dir, 'docker3');
    await writeJson(join(cfgDir, 'config.json'), {
      auths: { 'helper.example:5000': {} },
      credHelpers: {
        'helper.example:5000': 'testhelper',
        'docker.io': 'testhelper',
        'token.example': 'testhelper',
      },
    });
    await withEnv(envFor({ DOCKER_CONFIG: cfgDir }), async () => {
      const provider = new DockerConfigProvider(110);
      const cred = await provider.forRegistry('helper.example:5000');
      assert.equal(await readFile(join(dir, 'helper-stdin'), 'utf8'), 'helper.example:5000');
      assert.deepEqual([cred?.username, cred?.password], ['helper-user', 'helper-secret']);
      assert.match(cred!.source, /credential helper docker-credential-testhelper/);
      const hub = await provider.forRegistry('index.docker.io');
      assert.equal(await readFile(join(dir, 'helper-stdin'), 'utf8'), 'https://index.docker.io/v1/');
      assert.equal(hub?.password, 'hub-secret');
      const tok = await provider.forRegistry('token.example');
      assert.deepEqual(
        [tok?.identityToken, tok?.username, tok?.password],
        ['refresh-token-1', undefined, undefined],
      );
    });
  });

  test('credsStore: the default helper; "credentials not found" means no credentials', async () => {
    const cfgDir = join(dir, 'docker4');
    await writeJson(join(cfgDir, 'config.json'), {
      credsStore: 'testhelper',
      auths: { 'inline.example': { auth: b64('in:line') } },
    });
    await withEnv(envFor({ DOCKER_CONFIG: cfgDir }), async () => {
      const log = memoryLogger();
      const config = authProvidersConfigSchema.parse({});
      const { providers } = createAuthProviders(config, { logger: log.logger });
      const store = createCredentialStore(providers);
      assert.equal((await store.forRegistry('helper.example:5000'))?.password, 'helper-secret');
      assert.equal((await store.forRegistry('inline.example'))?.password, 'line');
      assert.equal(await store.forRegistry('nothing.example'), undefined);
      assert.equal(await readFile(join(dir, 'helper-stdin'), 'utf8'), 'nothing.example');
      assert.ok(!log.text().includes('helper-secret'));
    });
  });

  test('a failing helper is an error naming the helper and host, never its output', async () => {
    await withEnv(envFor({}), async () => {
      const err = await credentialHelperGet('broken', 'b.example').then(
        () => assert.fail('should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof CredentialError);
      assert.equal(err.code, 'CREDENTIAL_HELPER_FAILED');
      assert.equal(err.message, 'credential helper docker-credential-broken for b.example: exit code 3');
      const garbage = await credentialHelperGet('garbage', 'g.example').then(
        () => assert.fail('should fail'),
        (e: unknown) => e as Error,
      );
      assert.match(garbage.message, /docker-credential-garbage for g\.example: output is not JSON/);
      assert.ok(!garbage.message.includes('not-json-secret'));
      assert.ok(!String(garbage.cause ?? '').includes('not-json-secret'));
      await assert.rejects(
        credentialHelperGet('absent', 'a.example'),
        /docker-credential-absent for a\.example: not found on PATH/,
      );
    });
  });

  test('a helper that hangs is killed after the timeout', async () => {
    const cfgDir = join(dir, 'docker5');
    await writeJson(join(cfgDir, 'config.json'), { credHelpers: { 'slow.example': 'slow' } });
    await withEnv(envFor({ DOCKER_CONFIG: cfgDir }), async () => {
      const provider = new DockerConfigProvider(110, { helperTimeoutMs: 300 });
      const started = Date.now();
      await assert.rejects(provider.forRegistry('slow.example'), (err: Error) => {
        assert.equal((err as CredentialError).code, 'CREDENTIAL_HELPER_FAILED');
        assert.equal(
          err.message,
          'credential helper docker-credential-slow for slow.example: no answer within 300 ms',
        );
        return true;
      });
      assert.ok(Date.now() - started < 3000, 'did not wait for the helper');
    });
  });

  test('an unreadable config file is an error that does not quote its content', async () => {
    const cfgDir = join(dir, 'docker6');
    await mkdir(cfgDir);
    await writeFile(join(cfgDir, 'config.json'), '{"auths": {"x": {"auth": "c2VjcmV0"}}, oops-secret-text');
    await withEnv(envFor({ DOCKER_CONFIG: cfgDir }), async () => {
      const provider = new DockerConfigProvider(110);
      await assert.rejects(provider.forRegistry('x'), (err: Error) => {
        assert.match(err.message, /docker config .*config\.json: not valid JSON$/);
        assert.ok(!err.message.includes('oops-secret-text'));
        return true;
      });
    });
  });

  test('an explicit dockerConfig.path that does not exist stops start-up', async () => {
    await withEnv(envFor({}), async () => {
      const log = memoryLogger();
      const config = authProvidersConfigSchema.parse({ dockerConfig: { path: join(dir, 'missing.json') } });
      const { lifecycle } = createAuthProviders(config, { logger: log.logger });
      await assert.rejects(lifecycle.start(new AbortController().signal), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(
          err.message,
          /plugins\.auth-providers\.dockerConfig\.path: .*missing\.json: no such file/,
        );
        return true;
      });
    });
  });
});

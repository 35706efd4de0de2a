// Integration: the providers feed a real RegistryClient pushing into a real htpasswd-protected
// registry (Debian's docker-registry), once per credential source; secrets never leak.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  authProvidersConfigSchema,
  createAuthProviders,
  createCredentialResolver,
  loadedSecrets,
} from '@trivy-mirror/auth-providers';
import { type RunningRegistry, startRegistry } from '@trivy-mirror/fixtures';
import {
  isOciError,
  MediaType,
  OciErrorCode,
  type Reference,
  RegistryClient,
  sha256Digest,
} from '@trivy-mirror/oci';
import {
  type MemoryLogger,
  memoryLogger,
  tempDir,
  withEnv,
  writeCredentialHelper,
  writeSecret,
} from './test-helpers.js';

const USER = 'pusher';
const PASSWORD = 'Reg1stry-Pa55word-xyz';
const WRONG = 'Wr0ng-Pa55word-abc';

let registry: RunningRegistry;
let dir: string;
let bin: string;
let cleanup: () => Promise<void>;

before(async () => {
  ({ dir, cleanup } = await tempDir());
  bin = join(dir, 'bin');
  await mkdir(bin);
  registry = await startRegistry({ htpasswd: [{ username: USER, password: PASSWORD }] });
  await writeCredentialHelper(
    bin,
    'testhelper',
    `if [ "$server" = "${registry.host}" ]; then printf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}' "$server"; else echo "credentials not found in native keychain"; exit 1; fi`,
  );
});
after(async () => {
  await registry?.stop();
  await cleanup();
});

/**
 * Pushes a tiny artifact (config, one layer, manifest) with credentials from `config`; returns the
 * provider that /status says served the registry host.
 */
async function pushWith(config: unknown, repository: string, log: MemoryLogger): Promise<unknown> {
  const parts = createAuthProviders(authProvidersConfigSchema.parse(config), { logger: log.logger });
  await parts.lifecycle.start(new AbortController().signal);
  const client = new RegistryClient({
    credentials: createCredentialResolver(parts.providers),
    logger: log.logger,
    retry: { attempts: 1 },
  });
  try {
    const ref: Reference = { kind: 'registry', registry: registry.host, repository, tag: 'v1' };
    const configBytes = Buffer.from('{}');
    const layerBytes = Buffer.from(`layer of ${repository}\n`);
    const configDesc = {
      mediaType: MediaType.OciEmpty,
      digest: sha256Digest(configBytes),
      size: configBytes.length,
    };
    const layerDesc = {
      mediaType: MediaType.TrivyDbLayer,
      digest: sha256Digest(layerBytes),
      size: layerBytes.length,
      annotations: { 'org.opencontainers.image.title': 'db.tar.gz' },
    };
    await client.blobPut(ref, configDesc, () => Readable.from([configBytes]));
    await client.blobPut(ref, layerDesc, () => Readable.from([layerBytes]));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: configDesc,
        layers: [layerDesc],
      }),
    );
    const digest = await client.manifestPut(ref, manifest, MediaType.OciManifest);
    assert.equal(digest, sha256Digest(manifest));
    const head = await client.manifestHead(ref);
    assert.equal(head?.digest, digest);
    const report = await parts.health.check();
    assertNoLeak(JSON.stringify(report), '/status');
    const served = (report.status?.served ?? {}) as Record<string, { provider: string }>;
    return served[registry.host]?.provider;
  } finally {
    await client.close();
  }
}

/** Env with no docker/podman config of the machine, and the test helper first on PATH. */
function isolated(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    DOCKER_CONFIG: join(dir, 'no-docker-config'),
    REGISTRY_AUTH_FILE: undefined,
    XDG_RUNTIME_DIR: undefined,
    PATH: `${bin}:${process.env.PATH}`,
    ...extra,
  };
}

function assertNoLeak(text: string, what: string): void {
  assert.ok(!text.includes(PASSWORD), `${what} contains the password`);
  assert.ok(
    !text.includes(Buffer.from(`${USER}:${PASSWORD}`).toString('base64')),
    `${what} contains the Basic header`,
  );
  assert.deepEqual(loadedSecrets.leaks(text), [], `${what} contains a loaded secret`);
}

describe('credentials against a real htpasswd registry', () => {
  test('static: password from a file', async () => {
    const file = await writeSecret(join(dir, 'registry-password'), `${PASSWORD}\n`);
    const log = memoryLogger();
    const served = await withEnv(isolated(), () =>
      pushWith(
        { credentials: [{ host: registry.host, username: USER, passwordFile: file }] },
        'auth/file',
        log,
      ),
    );
    assert.equal(served, 'static');
    assertNoLeak(log.text(), 'logs');
  });

  test('static: username and password from env vars', async () => {
    const log = memoryLogger();
    const served = await withEnv(isolated({ REG_USER: USER, REG_PASS: PASSWORD }), () =>
      pushWith(
        { credentials: [{ host: registry.host, usernameEnv: 'REG_USER', passwordEnv: 'REG_PASS' }] },
        'auth/env',
        log,
      ),
    );
    assert.equal(served, 'static');
    assertNoLeak(log.text(), 'logs');
  });

  test('static: systemd credential from $CREDENTIALS_DIRECTORY', async () => {
    const credDir = join(dir, 'creds');
    await mkdir(credDir, { mode: 0o700 });
    await writeSecret(join(credDir, 'registry'), PASSWORD, 0o400);
    const log = memoryLogger();
    const served = await withEnv(isolated({ CREDENTIALS_DIRECTORY: credDir }), () =>
      pushWith(
        { credentials: [{ host: registry.host, username: USER, passwordCredential: 'registry' }] },
        'auth/systemd',
        log,
      ),
    );
    assert.equal(served, 'static');
    assertNoLeak(log.text(), 'logs');
  });

  test('docker-config: auths with base64 user:password', async () => {
    const cfgDir = join(dir, 'docker-auths');
    await mkdir(cfgDir);
    await writeFile(
      join(cfgDir, 'config.json'),
      JSON.stringify({
        auths: { [registry.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } },
      }),
      { mode: 0o600 },
    );
    const log = memoryLogger();
    assert.equal(
      await withEnv(isolated({ DOCKER_CONFIG: cfgDir }), () => pushWith({}, 'auth/docker-config', log)),
      'docker-config',
    );
    assertNoLeak(log.text(), 'logs');
  });

  test('docker-config: credential helper on PATH', async () => {
    const cfgDir = join(dir, 'docker-helper');
    await mkdir(cfgDir);
    await writeFile(
      join(cfgDir, 'config.json'),
      JSON.stringify({ credHelpers: { [registry.host]: 'testhelper' } }),
    );
    const log = memoryLogger();
    assert.equal(
      await withEnv(isolated({ DOCKER_CONFIG: cfgDir }), () => pushWith({}, 'auth/helper', log)),
      'docker-config',
    );
    assertNoLeak(log.text(), 'logs');
  });

  test('wrong or missing credentials: UNAUTHORIZED naming the host, without the secret', async () => {
    const wrongFile = await writeSecret(join(dir, 'wrong-password'), WRONG);
    loadedSecrets.add(PASSWORD);
    for (const [name, config] of [
      ['wrong', { credentials: [{ host: registry.host, username: USER, passwordFile: wrongFile }] }],
      ['anonymous', {}],
    ] as const) {
      const log = memoryLogger();
      const err = await withEnv(isolated(), () => pushWith(config, `auth/${name}`, log)).then(
        () => assert.fail(`${name}: push should fail`),
        (e: unknown) => e,
      );
      assert.ok(isOciError(err, OciErrorCode.UNAUTHORIZED), `${name}: ${String(err)}`);
      assert.ok(err.message.includes(registry.host), `${name}: message names the host: ${err.message}`);
      if (name === 'wrong') assert.match(err.message, /static credentials\[0\]/);
      const everything = `${err.message}\n${err.stack}\n${String(err.cause ?? '')}\n${log.text()}`;
      assertNoLeak(everything, `${name}: error and logs`);
      assert.ok(!everything.includes(WRONG), `${name}: the wrong password leaked`);
    }
  });
});

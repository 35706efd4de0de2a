// The real Trivy v0.74 against the mirror's serving listener with TLS (a CA made in the test, given to
// Trivy with --cacert) and htpasswd auth (TRIVY_USERNAME / TRIVY_PASSWORD), using the flags and the
// environment client-config prints; and what Trivy says without the CA or without credentials.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { clientConfig } from './helpers/client-config.js';
import { makeTestCa, type TestCa } from './helpers/test-ca.js';
import { runTrivy } from './helpers/trivy-cli.js';
import { PROJECT, scanProject } from './helpers/trivy-expect.js';
import { startTrivyWorld, type TrivyWorld } from './helpers/trivy-world.js';

const USER = 'scanner';
const PASSWORD = `scan-${process.pid}-${Date.now().toString(36)}`;

describe('real Trivy against the serving listener with TLS and htpasswd', { timeout: 900_000 }, () => {
  let world: TrivyWorld;
  let ca: TestCa;
  before(async () => {
    world = await startTrivyWorld('trivy-tls', async (dir) => {
      ca = await makeTestCa(dir);
      const htpasswd = join(dir, 'htpasswd');
      await writeFile(htpasswd, `${USER}:${bcrypt.hashSync(PASSWORD, 5)}\n`, { mode: 0o600 });
      return { tls: ca, htpasswd };
    });
  });
  after(() => world?.stop());

  /** The printed environment with the placeholders filled in, as a user does. */
  /** The printed environment with the placeholders filled in, as a user does. */
  async function credentials(): Promise<Record<string, string>> {
    const cc = await clientConfig(world.config);
    assert.deepEqual(Object.keys(cc.auth?.env ?? {}).sort(), ['TRIVY_PASSWORD', 'TRIVY_USERNAME']);
    assert.ok(!cc.args().includes('--insecure'), 'an https mirror needs no --insecure');
    return { TRIVY_USERNAME: USER, TRIVY_PASSWORD: PASSWORD };
  }

  test('with --cacert and the credentials: every artifact, over TLS', async () => {
    const cc = await clientConfig(world.config);
    assert.ok(cc.args().includes(`${world.serveHost}/trivy-db:2`), cc.oci.flags?.join(' '));
    const home = await world.clientHome('tls');
    await scanProject(
      ['--cache-dir', join(home, 'cache'), '--cacert', ca.caCert, ...cc.args()],
      { home, env: await credentials() },
      {},
      'TLS + htpasswd',
    );
  });

  test('without credentials Trivy is refused (401), and says so', async () => {
    const cc = await clientConfig(world.config);
    const home = await world.clientHome('no-credentials');
    const r = await runTrivy(
      [
        'rootfs',
        '--scanners',
        'vuln',
        '--cache-dir',
        join(home, 'cache'),
        '--cacert',
        ca.caCert,
        ...cc.args(),
        PROJECT,
      ],
      { home },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /401|UNAUTHORIZED|unauthorized/, r.stderr.slice(-2000));
  });

  test('without --cacert Trivy does not trust the mirror', async () => {
    const cc = await clientConfig(world.config);
    const home = await world.clientHome('no-ca');
    const r = await runTrivy(
      ['rootfs', '--scanners', 'vuln', '--cache-dir', join(home, 'cache'), ...cc.args(), PROJECT],
      { home, env: await credentials() },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /x509|certificate/, r.stderr.slice(-2000));
  });

  test('--vex repo over TLS with the credentials in repository.yaml', async () => {
    const cc = await clientConfig(world.config);
    const home = await world.clientHome('tls-vex');
    const [repositoryYaml] = await cc.writeFiles(home);
    // The auth section tells users to add username/password to the mirror's entry.
    const text = await readFile(repositoryYaml!, 'utf8');
    await writeFile(
      repositoryYaml!,
      text.replace(
        '    enabled: true\n',
        `    enabled: true\n    username: ${USER}\n    password: ${PASSWORD}\n`,
      ),
    );
    await scanProject(
      ['--cache-dir', join(home, 'cache'), '--cacert', ca.caCert, ...cc.args(), ...cc.args(cc.vex!)],
      { home, env: await credentials() },
      { vex: true },
      'TLS + htpasswd, --vex repo',
    );
  });
});

// End to end: credentials and access control with the built CLI and daemon against a docker-registry that
// requires htpasswd auth — every credential source for `copy`, clear 401 errors, the serving listener's
// Basic auth (curl-like requests and skopeo), secrets never leaking, and secret-file hygiene.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  type GeneratedArtifact,
  generateArtifact,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startRegistry,
  writeArtifactToLayout,
} from '@trivy-mirror/fixtures';
import bcrypt from 'bcryptjs';
import { type DaemonProcess, eventually, freePort, runCli, startDaemon } from './helpers/daemon-process.js';
import { startVexServer, type VexServer } from './helpers/vex-server.js';

const run = promisify(execFile);

const PUSH_USER = 'mirror-bot';
const PUSH_SECRET = `push-S3cret-${process.pid}-${Date.now().toString(36)}`;
const WRONG_SECRET = `wrong-S3cret-${process.pid}`;
const CLIENT_USER = 'scanner';
const CLIENT_SECRET = `client-S3cret-${process.pid}-${Date.now().toString(36)}`;
const SECRETS = [
  PUSH_SECRET,
  WRONG_SECRET,
  CLIENT_SECRET,
  Buffer.from(`${PUSH_USER}:${PUSH_SECRET}`).toString('base64'),
  Buffer.from(`${CLIENT_USER}:${CLIENT_SECRET}`).toString('base64'),
];

function assertNoSecret(text: string, where: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} contains a secret`);
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('auth: credentials for registries and access control for clients', { timeout: 85_000 }, () => {
  let dir: string;
  let registry: RunningRegistry;
  let vex: VexServer;
  let layout: string;
  let artifact: GeneratedArtifact;
  let seeded: SeedUpstreamResult;
  const outputs: { where: string; text: string }[] = [];

  /** A bare config for `copy --config`: only auth-providers matters. */
  const copyConfig = async (name: string, credential: string): Promise<string> => {
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      `stateDir: ${dir}/unused-state
plugins:
  auth-providers:
    dockerConfig: false
    credentials:
      - { host: "${registry.host}", username: ${PUSH_USER}, ${credential} }
`,
    );
    return file;
  };

  /** `copy` from the local layout into REPO on the protected registry, with a clean docker config. */
  const copy = async (repo: string, args: string[] = [], env: Record<string, string> = {}) => {
    const r = await runCli(['copy', `oci-layout:${layout}:2`, `${registry.host}/${repo}:2`, ...args], {
      env: { HOME: join(dir, 'home'), DOCKER_CONFIG: join(dir, 'empty-docker'), ...env },
      timeoutMs: 30_000,
    });
    outputs.push(
      { where: `copy ${repo} stdout`, text: r.stdout },
      { where: `copy ${repo} stderr`, text: r.stderr },
    );
    return r;
  };

  /** The manifest digest of REPO:2 on the protected registry (read with the right credentials). */
  const pushedDigest = async (repo: string) => {
    const res = await fetch(`${registry.url}/v2/${repo}/manifests/2`, {
      method: 'HEAD',
      headers: {
        authorization: basic(PUSH_USER, PUSH_SECRET),
        accept: 'application/vnd.oci.image.manifest.v1+json',
      },
    });
    return res.status === 200 ? res.headers.get('docker-content-digest') : `HTTP ${res.status}`;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-e2e-auth-'));
    await Promise.all(['home', 'empty-docker', 'bin'].map((d) => mkdir(join(dir, d), { recursive: true })));
    [registry, vex] = await Promise.all([
      startRegistry({ htpasswd: [{ username: PUSH_USER, password: PUSH_SECRET }] }),
      startVexServer(),
    ]);
    artifact = await generateArtifact({
      kind: 'trivy-db',
      dbBytes: 64 * 1024,
      seed: 'e2e-auth',
      workDir: join(dir, 'gen'),
    });
    layout = join(dir, 'layout');
    await writeArtifactToLayout(layout, '2', artifact);
    // The daemon's upstream is the same protected registry.
    seeded = await seedUpstream({
      registryUrl: registry.url,
      workDir: join(dir, 'seed'),
      dbBytes: 64 * 1024,
      javaDbBytes: 64 * 1024,
      seed: 'e2e-auth-upstream',
      push: { username: PUSH_USER, password: PUSH_SECRET },
    });
  });

  after(async () => {
    await Promise.allSettled([registry?.stop(), vex?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // ---- copy: one test per credential source ---------------------------------------------------------

  test('copy with a password file from the config (plugins.auth-providers.credentials[].passwordFile)', async () => {
    const secretFile = join(dir, 'push-password');
    await writeFile(secretFile, `${PUSH_SECRET}\n`, { mode: 0o600 });
    await chmod(secretFile, 0o600);
    const cfg = await copyConfig('copy-file', `passwordFile: ${secretFile}`);
    const r = await copy('by-file/trivy-db', ['--config', cfg]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await pushedDigest('by-file/trivy-db'), artifact.manifestDigest);
  });

  test('copy with a password from an environment variable (passwordEnv)', async () => {
    const cfg = await copyConfig('copy-env', 'passwordEnv: E2E_PUSH_PASSWORD');
    const r = await copy('by-env/trivy-db', ['--config', cfg], { E2E_PUSH_PASSWORD: PUSH_SECRET });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await pushedDigest('by-env/trivy-db'), artifact.manifestDigest);
  });

  test('copy with docker config auths (DOCKER_CONFIG)', async () => {
    const dockerDir = join(dir, 'docker-auths');
    await mkdir(dockerDir, { recursive: true });
    await writeFile(
      join(dockerDir, 'config.json'),
      JSON.stringify({
        auths: { [registry.host]: { auth: Buffer.from(`${PUSH_USER}:${PUSH_SECRET}`).toString('base64') } },
      }),
      { mode: 0o600 },
    );
    const r = await copy('by-docker-config/trivy-db', [], { DOCKER_CONFIG: dockerDir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await pushedDigest('by-docker-config/trivy-db'), artifact.manifestDigest);
  });

  test('copy with a credential helper on PATH (credHelpers)', async () => {
    const dockerDir = join(dir, 'docker-helper');
    await mkdir(dockerDir, { recursive: true });
    await writeFile(
      join(dockerDir, 'config.json'),
      JSON.stringify({ credHelpers: { [registry.host]: 'e2etest' } }),
    );
    const helper = join(dir, 'bin', 'docker-credential-e2etest');
    // Answers `get` for our registry only, like real helpers; logs what it was asked.
    await writeFile(
      helper,
      `#!/bin/sh
[ "$1" = get ] || exit 1
read -r host
echo "$host" >> "${dir}/helper-calls.log"
case "$host" in
  *${registry.host}*) printf '{"ServerURL":"%s","Username":"${PUSH_USER}","Secret":"%s"}\\n' "$host" "$(cat "${dir}/helper-secret")" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
      { mode: 0o755 },
    );
    await writeFile(join(dir, 'helper-secret'), PUSH_SECRET, { mode: 0o600 });
    const r = await copy('by-helper/trivy-db', [], {
      DOCKER_CONFIG: dockerDir,
      PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await pushedDigest('by-helper/trivy-db'), artifact.manifestDigest);
    assert.match(
      await readFile(join(dir, 'helper-calls.log'), 'utf8'),
      new RegExp(registry.host.replace('.', '\\.')),
    );
  });

  test('copy fails with a clear 401 naming the host when credentials are wrong or missing', async () => {
    const wrong = await copyConfig('copy-wrong', 'passwordEnv: E2E_PUSH_PASSWORD');
    const cases: { name: string; args: string[]; env: Record<string, string> }[] = [
      { name: 'wrong password', args: ['--config', wrong], env: { E2E_PUSH_PASSWORD: WRONG_SECRET } },
      { name: 'no credentials', args: [], env: {} },
    ];
    for (const c of cases) {
      const r = await copy('denied/trivy-db', c.args, c.env);
      assert.equal(r.code, 1, `${c.name}: exit ${r.code}`);
      assert.match(r.stderr, /401|UNAUTHORIZED/i, `${c.name}: ${r.stderr}`);
      assert.ok(r.stderr.includes(registry.host), `${c.name}: stderr names the host: ${r.stderr}`);
      assert.ok(r.stderr.split('\n').length < 15, `${c.name}: short message, not a stack: ${r.stderr}`);
    }
    assert.equal(await pushedDigest('denied/trivy-db'), 'HTTP 404');
  });

  // ---- the daemon: pulls with credentials, serves with Basic auth -------------------------------------

  let daemon: DaemonProcess;
  let adminUrl: string;
  let serveUrl: string;
  let looseSecretFile: string;

  test('daemon with serve.htpasswd: 401 + Basic challenge without credentials, 200 with them', async () => {
    looseSecretFile = join(dir, 'upstream-password-0644');
    await writeFile(looseSecretFile, PUSH_SECRET, { mode: 0o644 });
    await chmod(looseSecretFile, 0o644);
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `${CLIENT_USER}:${bcrypt.hashSync(CLIENT_SECRET, 5)}\n`, { mode: 0o600 });
    const adminPort = await freePort();
    const servePort = await freePort();
    adminUrl = `http://127.0.0.1:${adminPort}`;
    serveUrl = `http://127.0.0.1:${servePort}`;
    const cfg = join(dir, 'daemon.yaml');
    await writeFile(
      cfg,
      `stateDir: ${dir}/state
admin: { listen: 127.0.0.1:${adminPort} }
serve: { listen: 127.0.0.1:${servePort}, publicUrl: ${serveUrl} }
log: { level: debug, format: json }
plugins:
  auth-providers:
    dockerConfig: false
    credentials:
      - { host: "${registry.host}", username: ${PUSH_USER}, passwordFile: ${looseSecretFile} }
    serve: { htpasswd: ${htpasswd}, realm: e2e-mirror }
  oci-sync:
    sources: [${registry.host}/aquasec]
    destinations: [${registry.host}/mirror]
  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }
  cache-populator: { targets: [{ dir: ${dir}/cache }] }
`,
    );
    daemon = await startDaemon({
      args: ['run', '--config', cfg],
      adminUrl,
      env: { HOME: join(dir, 'home'), DOCKER_CONFIG: join(dir, 'empty-docker') },
    });
    await eventually(async () => (await fetch(`${adminUrl}/readyz`)).status === 200, 40_000, '/readyz 200');
    // It pulled from and pushed to the protected registry.
    assert.equal(await pushedDigest('mirror/trivy-db'), seeded.digests['trivy-db:2']);

    const accept = {
      accept:
        'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    };
    const paths = ['/v2/', '/v2/trivy-db/manifests/2', '/.well-known/vex-repository.json'];
    for (const path of paths) {
      const anon = await fetch(`${serveUrl}${path}`, { headers: accept });
      await anon.arrayBuffer();
      assert.equal(anon.status, 401, `${path} without credentials`);
      assert.match(anon.headers.get('www-authenticate') ?? '', /^Basic realm="e2e-mirror"/, path);
      const wrong = await fetch(`${serveUrl}${path}`, {
        headers: { ...accept, authorization: basic(CLIENT_USER, WRONG_SECRET) },
      });
      await wrong.arrayBuffer();
      assert.equal(wrong.status, 401, `${path} with a wrong password`);
      const ok = await fetch(`${serveUrl}${path}`, {
        headers: { ...accept, authorization: basic(CLIENT_USER, CLIENT_SECRET) },
      });
      const body = await ok.text();
      assert.equal(ok.status, 200, `${path} with credentials: ${body}`);
      if (path.includes('manifests')) {
        assert.equal(ok.headers.get('docker-content-digest'), seeded.digests['trivy-db:2']);
      }
      if (path.includes('vex-repository')) {
        const manifest = JSON.parse(body) as { versions: { locations: { url: string }[] }[] };
        const location = manifest.versions[0]!.locations[0]!.url;
        assert.ok(location.startsWith(serveUrl), body);
        // The archive it points at is behind the same door.
        const archiveUrl = location.replace(/\/\/[^/]+$/, '');
        const denied = await fetch(archiveUrl);
        await denied.arrayBuffer();
        assert.equal(denied.status, 401, archiveUrl);
        const archive = await fetch(archiveUrl, {
          headers: { authorization: basic(CLIENT_USER, CLIENT_SECRET) },
        });
        assert.equal(archive.status, 200, archiveUrl);
        assert.ok((await archive.arrayBuffer()).byteLength > 1000);
      }
    }
  });

  test('skopeo copies from the serving listener with --src-creds', async () => {
    const out = join(dir, 'skopeo-out');
    const { stdout } = await run(
      'skopeo',
      [
        'copy',
        '--src-tls-verify=false',
        '--src-creds',
        `${CLIENT_USER}:${CLIENT_SECRET}`,
        `docker://${serveUrl.slice('http://'.length)}/trivy-db:2`,
        `oci:${out}:2`,
      ],
      { timeout: 30_000 },
    );
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    assert.equal(index.manifests[0]!.digest, seeded.digests['trivy-db:2'], stdout);
    await assert.rejects(
      run('skopeo', [
        'copy',
        '--src-tls-verify=false',
        `docker://${serveUrl.slice('http://'.length)}/trivy-db:2`,
        `oci:${join(dir, 'skopeo-denied')}:2`,
      ]),
      /unauthorized|401|authentication required/i,
    );
  });

  test('the admin listener stays on loopback and needs no client credentials', async () => {
    const listening = daemon.logs().filter((l) => l.msg === 'listening');
    const admin = listening.find((l) => l.listener === 'admin');
    assert.equal(admin?.url, adminUrl);
    assert.ok(
      listening.find((l) => l.listener === 'serve'),
      'serve listener logged',
    );
    assert.equal((await fetch(`${adminUrl}/status`)).status, 200);
    // Moving it off loopback is called out (without binding anything here).
    const open = join(dir, 'admin-open.yaml');
    await writeFile(open, `stateDir: ${dir}/state-open\nadmin: { listen: 0.0.0.0:${await freePort()} }\n`);
    const check = await runCli(['config', 'check', '--config', open], { timeoutMs: 20_000 });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr + check.stdout, /admin\.listen 0\.0\.0\.0:\d+ is not a loopback address/);
    // The serving listener does not expose the admin endpoints.
    const onServe = await fetch(`${serveUrl}/status`, {
      headers: { authorization: basic(CLIENT_USER, CLIENT_SECRET) },
    });
    await onServe.arrayBuffer();
    assert.notEqual(onServe.status, 200);
  });

  test('a secret file readable by others gets a warning naming the file', async () => {
    const warning = await daemon.waitForLog(
      (l) => l.level === 40 && l.file === looseSecretFile && /readable/.test(String(l.msg)),
      5_000,
    );
    assert.equal(warning.key, 'plugins.auth-providers.credentials[0].passwordFile');
  });

  test('no secret in logs (debug), /status, status --json, errors or the daemon argv', async () => {
    const cmdline = await readFile(`/proc/${daemon.child.pid}/cmdline`, 'utf8');
    assertNoSecret(cmdline, 'daemon argv');
    const environ = await readFile(`/proc/${daemon.child.pid}/environ`, 'utf8');
    assertNoSecret(environ, 'daemon environment');
    const status = await (await fetch(`${adminUrl}/status`)).text();
    assert.match(status, /auth-providers/);
    assertNoSecret(status, '/status');
    const cli = await runCli(['status', '--json', '--admin', adminUrl], { timeoutMs: 20_000 });
    assert.equal(cli.code, 0, cli.stderr);
    assertNoSecret(cli.stdout + cli.stderr, 'status --json');
    const text = await runCli(['status', '--admin', adminUrl], { timeoutMs: 20_000 });
    assert.equal(text.code, 0, text.stderr);
    assertNoSecret(text.stdout + text.stderr, 'status');
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    assertNoSecret(metrics, '/metrics');
    // Provoke failed client logins and a denied push so that error paths log too.
    await fetch(`${serveUrl}/v2/`, { headers: { authorization: basic(CLIENT_USER, WRONG_SECRET) } });
    const r = await daemon.stop('SIGTERM');
    assert.equal(r.code, 0);
    assert.ok(
      daemon.logs().some((l) => l.level === 20),
      'debug lines were logged',
    );
    assertNoSecret(daemon.stdout(), 'daemon stdout');
    assertNoSecret(daemon.stderr(), 'daemon stderr');
    for (const o of outputs) assertNoSecret(o.text, o.where);
  });

  test('a missing secret file is a start-up error naming the config key', async () => {
    const cfg = join(dir, 'missing.yaml');
    await writeFile(
      cfg,
      `stateDir: ${dir}/state-missing
admin: { listen: 127.0.0.1:${await freePort()} }
log: { format: json }
plugins:
  auth-providers:
    dockerConfig: false
    credentials:
      - { host: "${registry.host}", username: ${PUSH_USER}, passwordFile: ${dir}/no-such-secret }
  oci-sync: { sources: ["${registry.host}/aquasec"] }
  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }
  cache-populator: { targets: [{ dir: ${dir}/cache-missing }] }
`,
    );
    const r = await runCli(['run', '--config', cfg], { timeoutMs: 20_000 });
    assert.notEqual(r.code, 0);
    const out = r.stdout + r.stderr;
    assertNoSecret(out, 'start-up error');
    assert.ok(out.includes('plugins.auth-providers.credentials[0].passwordFile'), out);
    assert.ok(out.includes(`${dir}/no-such-secret`), out);
    assert.match(out, /no such file/);
    // `config check` refuses it too, before anything exists on disk
    await rm(`${dir}/state-missing`, { recursive: true, force: true });
    const check = await runCli(['config', 'check', '--config', cfg], { timeoutMs: 20_000 });
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.match(check.stderr, /start-up would fail/);
    assert.match(
      check.stderr,
      /plugins\.auth-providers\.credentials\[0\]\.passwordFile \(line 8, column \d+\): \S+\/no-such-secret: no such file/,
    );
    assert.equal(existsSync(`${dir}/state-missing`), false, 'config check created the state dir');
  });
});

// End to end: the built daemon with credentials: it pulls from and pushes to a registry that requires
// htpasswd auth, its serving listener asks clients for Basic auth (curl-like requests and skopeo), the
// admin listener stays on loopback, no secret leaks anywhere, and secret files are checked (set-up:
// helpers/auth-suite.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import {
  type AuthSuite,
  assertNoSecret,
  basic,
  CLIENT_SECRET,
  CLIENT_USER,
  PUSH_SECRET,
  PUSH_USER,
  startAuthSuite,
  WRONG_SECRET,
} from './helpers/auth-suite.js';
import { type DaemonProcess, eventually, freePort, runCli, startDaemon } from './helpers/daemon-process.js';

const run = promisify(execFile);

describe('auth: credentials for registries and access control for clients', { timeout: 85_000 }, () => {
  let auth: AuthSuite;
  before(async () => (auth = await startAuthSuite()));
  after(() => auth?.stop());

  let daemon: DaemonProcess;
  let adminUrl: string;
  let serveUrl: string;
  let looseSecretFile: string;

  test('daemon with serve.htpasswd: 401 + Basic challenge without credentials, 200 with them', async () => {
    looseSecretFile = join(auth.dir, 'upstream-password-0644');
    await writeFile(looseSecretFile, PUSH_SECRET, { mode: 0o644 });
    await chmod(looseSecretFile, 0o644);
    const htpasswd = join(auth.dir, 'htpasswd');
    await writeFile(htpasswd, `${CLIENT_USER}:${bcrypt.hashSync(CLIENT_SECRET, 5)}\n`, { mode: 0o600 });
    const adminPort = await freePort();
    const servePort = await freePort();
    adminUrl = `http://127.0.0.1:${adminPort}`;
    serveUrl = `http://127.0.0.1:${servePort}`;
    const cfg = join(auth.dir, 'daemon.yaml');
    await writeFile(
      cfg,
      `stateDir: ${auth.dir}/state
admin: { listen: 127.0.0.1:${adminPort} }
serve: { listen: 127.0.0.1:${servePort}, publicUrl: ${serveUrl} }
log: { level: debug, format: json }
plugins:
  auth-providers:
    dockerConfig: false
    credentials:
      - { host: "${auth.registry.host}", username: ${PUSH_USER}, passwordFile: ${looseSecretFile} }
    serve: { htpasswd: ${htpasswd}, realm: e2e-mirror }
  oci-sync:
    sources: [${auth.registry.host}/aquasec]
    destinations: [${auth.registry.host}/mirror]
  vexhub-mirror: { repositories: [{ name: vexhub, url: ${auth.vex.url}/vexhub }] }
  cache-populator: { targets: [{ dir: ${auth.dir}/cache }] }
`,
    );
    daemon = await startDaemon({
      args: ['run', '--config', cfg],
      adminUrl,
      env: { HOME: join(auth.dir, 'home'), DOCKER_CONFIG: join(auth.dir, 'empty-docker') },
    });
    await eventually(async () => (await fetch(`${adminUrl}/readyz`)).status === 200, 40_000, '/readyz 200');
    // It pulled from and pushed to the protected registry.
    assert.equal(await auth.pushedDigest('mirror/trivy-db'), auth.seeded.digests['trivy-db:2']);

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
        assert.equal(ok.headers.get('docker-content-digest'), auth.seeded.digests['trivy-db:2']);
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
    const out = join(auth.dir, 'skopeo-out');
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
    assert.equal(index.manifests[0]!.digest, auth.seeded.digests['trivy-db:2'], stdout);
    await assert.rejects(
      run('skopeo', [
        'copy',
        '--src-tls-verify=false',
        `docker://${serveUrl.slice('http://'.length)}/trivy-db:2`,
        `oci:${join(auth.dir, 'skopeo-denied')}:2`,
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
    const open = join(auth.dir, 'admin-open.yaml');
    await writeFile(
      open,
      `stateDir: ${auth.dir}/state-open\nadmin: { listen: 0.0.0.0:${await freePort()} }\n`,
    );
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
    // exits with the code of the verdict it prints (this world's VEX snapshot is months old: STALE)
    const word = /^trivy-mirror \S+ {2}(READY|SYNCING|STALE|FAILING) /.exec(text.stdout)?.[1];
    const codes: Record<string, number> = { READY: 0, SYNCING: 3, STALE: 4, FAILING: 5 };
    assert.equal(text.code, codes[word ?? ''], `${text.stdout}${text.stderr}`);
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
  });

  test('a missing secret file is a start-up error naming the config key', async () => {
    const cfg = join(auth.dir, 'missing.yaml');
    await writeFile(
      cfg,
      `stateDir: ${auth.dir}/state-missing
admin: { listen: 127.0.0.1:${await freePort()} }
log: { format: json }
plugins:
  auth-providers:
    dockerConfig: false
    credentials:
      - { host: "${auth.registry.host}", username: ${PUSH_USER}, passwordFile: ${auth.dir}/no-such-secret }
  oci-sync: { sources: ["${auth.registry.host}/aquasec"] }
  vexhub-mirror: { repositories: [{ name: vexhub, url: ${auth.vex.url}/vexhub }] }
  cache-populator: { targets: [{ dir: ${auth.dir}/cache-missing }] }
`,
    );
    const r = await runCli(['run', '--config', cfg], { timeoutMs: 20_000 });
    assert.notEqual(r.code, 0);
    const out = r.stdout + r.stderr;
    assertNoSecret(out, 'start-up error');
    assert.ok(out.includes('plugins.auth-providers.credentials[0].passwordFile'), out);
    assert.ok(out.includes(`${auth.dir}/no-such-secret`), out);
    assert.match(out, /no such file/);
    // `config check` refuses it too, before anything exists on disk
    await rm(`${auth.dir}/state-missing`, { recursive: true, force: true });
    const check = await runCli(['config', 'check', '--config', cfg], { timeoutMs: 20_000 });
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.match(check.stderr, /start-up would fail/);
    assert.match(
      check.stderr,
      /plugins\.auth-providers\.credentials\[0\]\.passwordFile \(line 8, column \d+\): \S+\/no-such-secret: no such file/,
    );
    assert.equal(existsSync(`${auth.dir}/state-missing`), false, 'config check created the state dir');
  });
});

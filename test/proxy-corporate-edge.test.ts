// End to end behind a corporate edge: the built CLI's sync (upstream over TLS, a push, the VEX mirror)
// through Debian's squid to host names only squid resolves, with the upstream's CA trusted only through
// the system store (SSL_CERT_FILE/SSL_CERT_DIR), a proxy that wants credentials, and NO_PROXY.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { daemonBin, runCli } from './helpers/daemon-process.js';
import { skopeoRaw } from './helpers/oci-e2e.js';
import { PROXY_PASSWORD, PROXY_USER, type ProxyWorld, startProxyWorld } from './helpers/proxy-world.js';

const sh = promisify(execFile);

/** squid logs a CONNECT when its tunnel closes: wait for the line a moment after the client exited. */
async function accessLogWith(read: () => Promise<string>, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const log = await read();
    if (pattern.test(log) || Date.now() > deadline) return log;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('behind a corporate forward proxy (e2e)', { timeout: 300_000 }, () => {
  let world: ProxyWorld;
  before(async () => (world = await startProxyWorld('proxy-edge')));
  after(() => world?.stop());

  test('without the proxy the upstream name does not resolve', async () => {
    const { path } = await world.writeConfig('direct');
    const r = await runCli(['sync', '--config', path, '--only', 'oci-sync'], { env: world.env(undefined) });
    assert.equal(r.code, 1, r.stdout);
    assert.match(`${r.stdout}${r.stderr}`, /host not found \(ENOTFOUND\)|ENOTFOUND/);
  });

  test('HTTPS_PROXY/HTTP_PROXY: sync, push and VEX mirror go through squid; the system store trusts the CA', async (t) => {
    const { path, stateDir } = await world.writeConfig('env-proxy');
    const r = await runCli(['sync', '--config', path], { env: world.env(world.squid.url) });
    t.diagnostic(r.stdout.trim());
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const want = world.seeded.digests['trivy-db:2'];
    const pushed = await skopeoRaw(`docker://${world.dest.host}/mirror/trivy-db:2`);
    assert.equal(pushed.digest, want, 'the destination holds what upstream has');
    assert.match(r.stdout, /1 vex repositories updated \(vexhub\)/);
    const vexDir = join(stateDir, 'plugins', 'vexhub-mirror', 'repositories', 'vexhub');
    assert.ok((await readdir(vexDir, { recursive: true })).length > 0, 'VEX mirrored');
    const log = await accessLogWith(world.squid.accessLog, new RegExp(`CONNECT ${world.names.upstream}`));
    assert.match(
      log,
      new RegExp(`CONNECT ${world.names.upstream} `),
      'https upstream through a CONNECT tunnel',
    );
    assert.match(log, new RegExp(`PUT http://${world.names.dest}/v2/mirror/trivy-db/manifests/2 `), 'push');
    assert.match(log, new RegExp(`GET http://${world.names.vex}/vexhub/.well-known/vex-repository.json `));
    assert.match(log, new RegExp(`GET http://${world.names.vex}/archives/main.zip `), 'VEX archive');
  });

  test('tls.systemCa: false: the error names the host, the issuer and what to configure', async (t) => {
    const { path } = await world.writeConfig('no-system-ca', 'tls: { systemCa: false }');
    const r = await runCli(['sync', '--config', path, '--only', 'oci-sync'], {
      env: world.env(world.squid.url),
    });
    assert.equal(r.code, 1, r.stdout);
    const out = `${r.stdout}${r.stderr}`;
    t.diagnostic(out);
    assert.match(out, new RegExp(`TLS to ${world.names.upstream}`));
    assert.match(out, /issued by CN=trivy-mirror test CA/);
    assert.match(out, /caFile/);
  });

  test('proxy.url with credentials: squid sees the user; a wrong password fails naming 407, never the secret', async (t) => {
    const authed = new URL(world.authSquid.url);
    authed.username = PROXY_USER;
    authed.password = PROXY_PASSWORD;
    const ok = await world.writeConfig('auth-proxy', `proxy: { url: "${authed.href}" }`);
    // the environment names the other squid: the config's proxy section wins
    const r = await runCli(['sync', '--config', ok.path, '--only', 'oci-sync'], {
      env: world.env(world.squid.url),
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const log = await accessLogWith(
      world.authSquid.accessLog,
      new RegExp(`CONNECT ${world.names.upstream} ${PROXY_USER}`),
    );
    assert.match(log, new RegExp(`CONNECT ${world.names.upstream} ${PROXY_USER} `));

    authed.password = 'wrong-password';
    const bad = await world.writeConfig('auth-proxy-bad', `proxy: { url: "${authed.href}" }`);
    const r2 = await runCli(['sync', '--config', bad.path, '--only', 'oci-sync'], {
      env: world.env(undefined),
    });
    assert.equal(r2.code, 1, r2.stdout);
    const out = `${r2.stdout}${r2.stderr}`;
    t.diagnostic(out);
    assert.match(out, /407/);
    assert.doesNotMatch(out, /wrong-password/);
  });

  test('NO_PROXY sends a destination direct (its name resolves only on this side)', async (t) => {
    // The daemon's own /etc/hosts names the destination, in a private mount namespace (as root; else in
    // a user namespace of its own, where the user is root); squid cannot resolve it.
    const hosts = join(world.work.dir, 'daemon-hosts');
    await writeFile(hosts, `${await readFile('/etc/hosts', 'utf8')}\n127.0.0.1 dest.direct.test\n`);
    const namespace = process.getuid?.() === 0 ? ['--mount'] : ['--user', '--map-root-user', '--mount'];
    const probe = await sh('unshare', [
      ...namespace,
      'sh',
      '-c',
      `mount --bind ${hosts} /etc/hosts && getent hosts dest.direct.test`,
    ]).catch((e: Error) => e);
    if (probe instanceof Error) {
      assert.fail(
        `unshare ${namespace.join(' ')} could not give the daemon its own /etc/hosts (run as root, or allow ` +
          `unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1): ${probe.message}`,
      );
    }
    const destName = `dest.direct.test:${new URL(world.dest.url).port}`;
    const { path } = await world.writeConfig('no-proxy', `  - { host: ${destName}, plainHttp: true }`);
    const config = (await readFile(path, 'utf8')).replace(
      `destinations: [${world.names.dest}/mirror]`,
      `destinations: [${destName}/direct]`,
    );
    await writeFile(path, config);
    const before = (await world.squid.accessLog()).length;
    const r = await sh(
      'unshare',
      [
        ...namespace,
        'sh',
        '-c',
        `mount --bind ${hosts} /etc/hosts && exec "$0" "$@"`,
        process.execPath,
        daemonBin,
        'sync',
        '--config',
        path,
        '--only',
        'oci-sync',
      ],
      {
        env: { ...process.env, ...world.env(world.squid.url, { NO_PROXY: '.direct.test' }) },
        timeout: 120_000,
      },
    ).catch((e: { stdout: string; stderr: string }) => assert.fail(`${e.stdout}\n${e.stderr}`));
    t.diagnostic(r.stdout.trim());
    assert.equal(
      (await skopeoRaw(`docker://${world.dest.host}/direct/trivy-db:2`)).digest,
      world.seeded.digests['trivy-db:2'],
    );
    const log = (
      await accessLogWith(world.squid.accessLog, new RegExp(`CONNECT ${world.names.upstream}`))
    ).slice(before);
    assert.match(log, new RegExp(`CONNECT ${world.names.upstream} `), 'the source still goes through squid');
    assert.doesNotMatch(log, /direct\.test/, 'the destination went direct');
  });

  test('config check --online: one line per host through the proxy; exit 1 names the failing layer', async (t) => {
    const good = await world.writeConfig('online');
    const r = await runCli(['config', 'check', '--online', '--config', good.path], {
      env: world.env(world.squid.url),
    });
    t.diagnostic(r.stdout.trim());
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stdout,
      new RegExp(
        `✓ source ${world.names.upstream} via ${world.squid.url} \\(HTTPS_PROXY\\): .*proxy ok \\(CONNECT .*tls ok \\(issuer CN=trivy-mirror test CA\\).*v2 ok \\(200\\)`,
      ),
    );
    assert.match(
      r.stdout,
      new RegExp(`✓ destination ${world.names.dest} via ${world.squid.url} \\(HTTP_PROXY\\)`),
    );
    assert.match(r.stdout, new RegExp(`✓ vex http://${world.names.vex}/vexhub`));

    const dead = await runCli(['config', 'check', '--online', '--config', good.path], {
      env: world.env('http://127.0.0.1:9'),
    });
    assert.equal(dead.code, 1, dead.stdout);
    assert.match(
      dead.stderr,
      new RegExp(
        `network check failed: ${world.names.upstream}: tcp: cannot connect to proxy http://127.0.0.1:9`,
      ),
    );

    const untrusted = await world.writeConfig('online-untrusted', 'tls: { systemCa: false }');
    const u = await runCli(['config', 'check', '--online', '--config', untrusted.path], {
      env: world.env(world.squid.url),
    });
    assert.equal(u.code, 1, u.stdout);
    assert.match(
      u.stderr,
      new RegExp(
        `${world.names.upstream}: tls: certificate for .* issued by CN=trivy-mirror test CA is not trusted`,
      ),
    );

    const wrong = new URL(world.authSquid.url);
    wrong.username = PROXY_USER;
    wrong.password = 'wrong-password';
    const w = await runCli(['config', 'check', '--online', '--config', good.path], {
      env: world.env(wrong.href),
    });
    assert.equal(w.code, 1, w.stdout);
    assert.match(w.stderr, new RegExp(`${world.names.upstream}: proxy: .*407`));
    assert.doesNotMatch(`${w.stdout}${w.stderr}`, /wrong-password/);
  });
});

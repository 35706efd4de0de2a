// The Debian package and its single executable, as a bastion gets them: the .deb unpacked into a scratch
// root (dpkg -x), /usr/bin/trivy-mirror run with no node on PATH and no node_modules anywhere near —
// the demo, --help, the packaged config, an external plugin's webhook, the unit and lintian; the package
// metadata and licence, the man page as man renders it, and postinst making what the shipped config
// needs for the service user (run into the scratch root, as root).
// Builds dist/ (tools/package, amd64 only) when it is missing or older than the build.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDemoUpstream } from '../apps/daemon/src/demo/demo-upstream.js';
// @ts-expect-error: a plain .mjs build script, no types
import { packageMetadata } from '../tools/package/package-metadata.mjs';
import {
  type DaemonProcess,
  eventually,
  freePort,
  repoRoot,
  runCli,
  startDaemon,
} from './helpers/daemon-process.js';
import { type HookServer, startHookServer } from './helpers/hook-server.js';

const dist = join(repoRoot, 'dist');
const version = JSON.parse(readFileSync(join(repoRoot, 'apps/daemon/package.json'), 'utf8'))
  .version as string;
const deb = join(dist, `trivy-mirror_${version}-1_amd64.deb`);
const has = (tool: string) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;

/** The newest compiled output (tsc -b rewrites .tsbuildinfo when a project changes). */
function newestBuild(): number {
  let newest = 0;
  for (const base of ['apps', 'packages', 'examples']) {
    for (const name of readdirSync(join(repoRoot, base))) {
      const info = join(repoRoot, base, name, 'dist/.tsbuildinfo');
      if (existsSync(info)) newest = Math.max(newest, statSync(info).mtimeMs);
    }
  }
  return newest;
}

/** Runs a command to its end; resolves with its exit code and output (lintian takes a while). */
async function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out };
}

describe('the Debian package and its single executable', { timeout: 175_000 }, () => {
  let dir: string;
  let scratch: string;
  let exe: string;
  let env: Record<string, string>;
  let lintian: Promise<{ code: number | null; out: string }> | undefined;
  let hook: HookServer;
  const started: DaemonProcess[] = [];

  before(async () => {
    if (!existsSync(deb) || statSync(deb).mtimeMs < newestBuild()) {
      execFileSync(process.execPath, [join(repoRoot, 'tools/package/package.mjs'), '--no-arm64'], {
        cwd: repoRoot,
        stdio: 'pipe',
      });
    }
    // lintian reads the whole 110 MB binary: it runs while the other tests do
    if (has('lintian')) lintian = run('lintian', ['--fail-on', 'error', deb]);
    dir = await mkdtemp(join(tmpdir(), 'tm-package-'));
    scratch = join(dir, 'root');
    execFileSync('dpkg', ['-x', deb, scratch]);
    exe = join(scratch, 'usr/bin/trivy-mirror');
    // An empty PATH dir: no node, npm or anything else for the executable to lean on.
    const bin = join(dir, 'empty-bin');
    mkdirSync(bin);
    env = { PATH: bin, HOME: dir, NODE_OPTIONS: '', NODE_PATH: '' };
    hook = await startHookServer();
  });

  after(async () => {
    for (const d of started) await d.stop('SIGKILL').catch(() => {});
    await hook?.close();
    await lintian?.catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the package holds the executable, unit, conffile, state dir, man page, copyright, changelog', () => {
    const files = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });
    for (const path of [
      './usr/bin/trivy-mirror',
      './lib/systemd/system/trivy-mirror.service',
      './etc/trivy-mirror/config.yaml',
      './var/lib/trivy-mirror/',
      './usr/share/man/man1/trivy-mirror.1.gz',
      './usr/share/doc/trivy-mirror/copyright',
      './usr/share/doc/trivy-mirror/changelog.Debian.gz',
    ])
      assert.ok(files.includes(` ${path}\n`), `${path} missing from:\n${files}`);
    const conffiles = execFileSync('dpkg-deb', ['--info', deb, 'conffiles'], { encoding: 'utf8' });
    assert.equal(conffiles.trim(), '/etc/trivy-mirror/config.yaml');
    const postinst = execFileSync('dpkg-deb', ['--info', deb, 'postinst'], { encoding: 'utf8' });
    assert.match(postinst, /adduser --system --group [^\n]*--home \/var\/lib\/trivy-mirror/);
  });

  test('the control file and copyright carry the package metadata and the LICENSE it declares', async () => {
    const { maintainer, homepage } = packageMetadata(repoRoot);
    const field = (name: string) =>
      execFileSync('dpkg-deb', ['--field', deb, name], { encoding: 'utf8' }).trim();
    assert.equal(field('Maintainer'), maintainer);
    // no invented homepage: the field is there only when package.json names one
    assert.equal(field('Homepage'), homepage ?? '');
    assert.doesNotMatch(`${field('Maintainer')} ${field('Homepage')}`, /github\.com\/trivy-mirror/);
    const license = readFileSync(join(repoRoot, 'LICENSE'), 'utf8');
    assert.match(license, /^\s*Apache License\s+Version 2\.0, January 2004\s/);
    assert.match(license, /END OF TERMS AND CONDITIONS/);
    const copyright = await readFile(join(scratch, 'usr/share/doc/trivy-mirror/copyright'), 'utf8');
    assert.match(copyright, /^Files: \*\nCopyright: trivy-mirror contributors\nLicense: Apache-2\.0$/m);
    assert.ok(copyright.includes(`Upstream-Contact: ${maintainer}\n`), copyright.slice(0, 400));
    const unit = await readFile(join(scratch, 'lib/systemd/system/trivy-mirror.service'), 'utf8');
    assert.match(unit, /^Documentation=man:trivy-mirror\(1\)$/m);
  });

  test('the man page has the usual sections and man renders it within 80 columns', async () => {
    const page = join(scratch, 'usr/share/man/man1/trivy-mirror.1.gz');
    const r = spawnSync('man', ['--warnings', '-l', page], {
      encoding: 'utf8',
      env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'groff warnings');
    const lines = r.stdout.split('\n');
    const wide = lines.filter((l) => [...l].length > 80);
    assert.deepEqual(wide, [], `${wide.length} lines over 80 columns`);
    const sections = lines.filter((l) => /^[A-Z][A-Z ]+$/.test(l));
    for (const s of [
      'NAME',
      'SYNOPSIS',
      'DESCRIPTION',
      'COMMANDS',
      'FILES',
      'ENVIRONMENT',
      'EXIT STATUS',
      'EXAMPLES',
    ])
      assert.ok(sections.includes(s), `${s} in ${sections.join(', ')}`);
    // every command of --help has its entry, and its examples
    const help = (await runCli(['--help'], { bin: exe, cwd: dir, env })).stdout;
    const commands = [...help.matchAll(/^ {2}([a-z-]+)(?: \[options\]| <|\s{2,})/gm)]
      .map((m) => m[1]!)
      .filter((c) => c !== 'help');
    assert.ok(commands.length > 10, help);
    for (const c of commands) assert.match(r.stdout, new RegExp(`^ {3}trivy-mirror ${c}\\b`, 'm'), c);
    assert.match(r.stdout, /^ {7}trivy-mirror store verify --store \/media\/usb\/trivy-store$/m);
  });

  test("postinst makes the shipped config's cache dir for the service user, who passes config check", {
    skip: process.getuid?.() !== 0 && 'needs root: postinst chowns to an unprivileged user',
  }, async () => {
    const config = join(scratch, 'etc/trivy-mirror/config.yaml');
    assert.match(await readFile(config, 'utf8'), /^ {6}- dir: \/var\/cache\/trivy /m);
    const state = join(scratch, 'var/lib/trivy-mirror');
    const cache = join(scratch, 'var/cache/trivy');
    // nobody stands in for the trivy-mirror user postinst would create
    const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }));
    await chmod(dir, 0o755);
    const setpriv = execFileSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).trim();
    const checkAsService = () =>
      runCli(
        [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', exe, 'config', 'check', '--config', config],
        {
          bin: setpriv,
          cwd: '/',
          env: {
            ...env,
            HOME: state,
            TRIVY_MIRROR_STATE_DIR: state,
            TRIVY_MIRROR__PLUGINS__CACHE_POPULATOR__TARGETS__0__DIR: cache,
          },
        },
      );
    const before = await checkAsService();
    assert.equal(before.code, 1, 'as unpacked, before postinst, the service user cannot write');
    assert.match(before.stderr, /cache-populator\.targets\[0\]\.dir/);

    // postinst as dpkg runs it (configure, first install), with adduser's user already there
    const stubs = join(dir, 'postinst-stubs');
    mkdirSync(stubs);
    const stub = (name: string, body: string) =>
      writeFile(join(stubs, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    await stub('getent', 'exit 0');
    await stub('adduser', 'echo "adduser must not run: the user exists" >&2; exit 1');
    await stub('systemctl', 'exit 0');
    await stub('deb-systemd-invoke', 'exit 0');
    await stub(
      'chown',
      `[ "$1" = trivy-mirror:trivy-mirror ] && shift && set -- ${uid}:${gid} "$@"\nexec /bin/chown "$@"`,
    );
    for (const script of ['postinst', 'prerm', 'postrm']) {
      const text = execFileSync('dpkg-deb', ['--info', deb, script], { encoding: 'utf8' });
      assert.doesNotMatch(text, /@[A-Z_]+@/, `${script}: a placeholder left`);
      await writeFile(join(dir, script), text, { mode: 0o755 });
      assert.equal(spawnSync('sh', ['-n', join(dir, script)]).status, 0, `${script} parses`);
    }
    const postinst = spawnSync('sh', [join(dir, 'postinst'), 'configure', ''], {
      encoding: 'utf8',
      env: { PATH: `${stubs}:/usr/sbin:/usr/bin:/sbin:/bin`, DPKG_ROOT: scratch },
    });
    assert.equal(postinst.status, 0, postinst.stderr);
    const made = statSync(cache);
    assert.equal(made.uid, uid);
    assert.equal(made.mode & 0o7777, 0o755, 'Trivy on the host reads it');
    assert.equal(statSync(state).uid, uid);
    assert.equal(statSync(state).mode & 0o7777, 0o750);

    const after = await checkAsService();
    assert.equal(after.code, 0, `${after.stdout}${after.stderr}`);
    assert.match(after.stdout, /valid \(plugins: /);
  });

  test('demo gets ready from an empty dir with no node on PATH', async () => {
    const cwd = join(dir, 'demo-cwd');
    mkdirSync(cwd);
    assert.notEqual(spawnSync('/bin/sh', ['-c', 'command -v node'], { env }).status, 0, 'node is on PATH');
    const r = await runCli(['demo', '--exit-when-ready'], { bin: exe, cwd, env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `demo: ${r.stderr}${r.stdout.slice(-2000)}`);
    assert.doesNotMatch(r.stdout + r.stderr, /\bWARN\b|"level":40/, 'no stray warning');
    assert.match(r.stdout, /--db-repository 127\.0\.0\.1:\d+\/trivy-db:2/);
    // The executable carries the real-format fixture data: its demo prints a scan a real Trivy can run.
    assert.match(r.stdout, /real-format data: a BoltDB trivy\.db/);
    assert.match(
      r.stdout,
      /trivy rootfs --scanners vuln,misconfig .* --vex repo \S+\/fixture-data\/trivy-data\/project\n/,
    );
    assert.deepEqual(readdirSync(cwd), [], 'the demo wrote into its cwd');
  });

  test('--help, and config example is the packaged /etc/trivy-mirror/config.yaml, which config check reads', async () => {
    const help = await runCli(['--help'], { bin: exe, cwd: dir, env });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: trivy-mirror \[options\] \[command\]/);
    assert.match(help.stdout, /client-config/);
    const example = await runCli(['config', 'example'], { bin: exe, cwd: dir, env });
    assert.equal(example.code, 0);
    assert.equal(example.stdout, await readFile(join(scratch, 'etc/trivy-mirror/config.yaml'), 'utf8'));
    // The shipped example passes its own check as installed (its secret references are commented out).
    const check = await runCli(
      ['config', 'check', '--config', join(scratch, 'etc/trivy-mirror/config.yaml')],
      { bin: exe, cwd: dir, env: { ...env, TRIVY_MIRROR_STATE_DIR: join(dir, 'state') } },
    );
    assert.equal(check.code, 0, `${check.stdout}${check.stderr}`);
    assert.match(check.stdout, /valid \(plugins: auth-providers, oci-sync, vexhub-mirror, cache-populator\)/);
  });

  test('the example webhook plugin, a package without node_modules, loads into the executable and POSTs', async () => {
    // Installed the way npm would, minus its dependencies: plugin-api, inversify and zod must come
    // from the executable (the same tokens and container as the daemon's).
    const site = join(dir, 'site');
    const pluginDir = join(site, 'node_modules/@trivy-mirror/example-plugin-webhook');
    for (const part of ['package.json', 'dist'])
      cpSync(join(repoRoot, 'examples/plugin-webhook', part), join(pluginDir, part), { recursive: true });
    const upstream = await startDemoUpstream(join(dir, 'upstream'), { dbBytes: 64 * 1024 });
    try {
      const adminPort = await freePort();
      const config = join(site, 'config.yaml');
      await writeFile(
        config,
        `stateDir: ${join(dir, 'state')}
admin: { listen: 127.0.0.1:${adminPort} }
log: { level: info, format: json }
plugins:
  auth-providers: { dockerConfig: false }
  oci-sync: { sources: [${upstream.registryHost}/aquasec] }
  cache-populator: { targets: [] }
  vexhub-mirror: { repositories: [{ name: vexhub, url: ${upstream.vexUrl} }] }
  external:
    - module: '@trivy-mirror/example-plugin-webhook'
      options: { url: ${hook.url}/hook, events: [artifact.stored] }
`,
      );
      const daemon = await startDaemon({
        bin: exe,
        args: ['run', '--config', config],
        adminUrl: `http://127.0.0.1:${adminPort}`,
        cwd: dir,
        env,
      });
      started.push(daemon);
      await eventually(async () => hook.received.length >= 4, 30_000, 'four webhook POSTs');
      const db = hook.received.find((r) => r.body.repository === 'trivy-db' && r.body.tag === '2');
      assert.ok(db, `webhooks: ${JSON.stringify(hook.received.map((r) => r.body))}`);
      assert.equal(db.path, '/hook');
      assert.equal(db.body.event, 'artifact.stored');
      assert.equal(db.body.digest, upstream.digests['trivy-db:2']);
      const stopped = await daemon.stop();
      assert.equal(stopped.code, 0, daemon.stderr());
    } finally {
      await upstream.close();
    }
  });

  test('systemd-analyze verify passes on the installed unit', {
    skip: !has('systemd-analyze') && 'systemd-analyze is not installed',
  }, async () => {
    const unit = await readFile(join(scratch, 'lib/systemd/system/trivy-mirror.service'), 'utf8');
    assert.match(
      unit,
      /^ExecStart=\/usr\/bin\/trivy-mirror run --config \/etc\/trivy-mirror\/config\.yaml$/m,
    );
    for (const hardening of [
      'ProtectSystem=strict',
      'NoNewPrivileges=yes',
      'SystemCallFilter=@system-service',
    ])
      assert.ok(unit.includes(`\n${hardening}\n`), hardening);
    // The binary path must exist for verify: point it into the scratch root; so must the man page of
    // Documentation= (verify runs man): MANPATH is the scratch root's.
    const copy = join(dir, 'unit/trivy-mirror.service');
    mkdirSync(join(dir, 'unit'));
    await writeFile(copy, unit.replace('ExecStart=/usr/bin/trivy-mirror', `ExecStart=${exe}`));
    const r = spawnSync('systemd-analyze', ['verify', copy], {
      encoding: 'utf8',
      env: { ...process.env, MANPATH: join(scratch, 'usr/share/man') },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'systemd-analyze warned');
  });

  const arm64 = join(dist, 'trivy-mirror-linux-arm64');
  test('the cross-built arm64 executable is an aarch64 ELF', {
    skip:
      (!existsSync(arm64) || !has('file')) && 'no dist/trivy-mirror-linux-arm64 (npm run package builds it)',
  }, () => {
    assert.match(execFileSync('file', ['-b', arm64], { encoding: 'utf8' }), /^ELF 64-bit LSB .*ARM aarch64/);
  });

  test('lintian finds no errors', {
    skip: !has('lintian') && 'lintian is not installed (apt-get install lintian)',
  }, async () => {
    const r = await lintian!;
    const errors = r.out.split('\n').filter((l) => l.startsWith('E: '));
    assert.deepEqual(errors, [], r.out);
    assert.equal(r.code, 0, r.out);
  });
});

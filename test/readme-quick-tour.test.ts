// The README's "A quick tour", followed as written on a fresh copy of the checkout (what git would hold:
// tracked and new files, no node_modules, no dist): every command of its code blocks, in order, must
// exit 0. `npm ci` runs offline from the npm cache; `npx trivy-mirror` is the copy's bin (what npx finds
// there after npm ci); `run` goes to the background until /readyz. The upstream the local profile names
// on the internet is a loopback fixture (TRIVY_MIRROR__ overrides), anything else meets a dead proxy.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, lstatSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DemoUpstream, startDemoUpstream } from '../apps/daemon/src/demo/demo-upstream.js';
import { waitReady } from './helpers/admin-api.js';
import { type DaemonProcess, freePort, repoRoot, startDaemon } from './helpers/daemon-process.js';

/** The commands of the quick tour's code blocks (up to the next heading), comments stripped, in order. */
function quickTourCommands(readme: string): string[] {
  const start = readme.search(/\n#{2,3} A quick tour\n/);
  assert.ok(start >= 0, 'README.md has an "A quick tour" section');
  const rest = readme.slice(start + 1);
  const next = rest.slice(1).search(/\n#{2,} /);
  const section = next < 0 ? rest : rest.slice(0, next + 1);
  const commands: string[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      const command = line.replace(/\s+#\s.*$/, '').trim();
      if (command && !command.startsWith('#')) commands.push(command);
    }
  }
  return commands;
}

/** Copies what a clone of the working tree would hold: tracked and untracked, not ignored, files. */
function copyCheckout(to: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  for (const file of files.split('\0').filter(Boolean)) {
    try {
      lstatSync(join(repoRoot, file));
    } catch {
      continue; // deleted in the working tree, not yet in git
    }
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(repoRoot, file), join(to, file), { verbatimSymlinks: true });
  }
}

async function bash(script: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number) {
  const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, out };
}

describe('the README quick tour, on a fresh clone', { timeout: 280_000 }, () => {
  let dir: string;
  let clone: string;
  let upstream: DemoUpstream;
  let daemon: DaemonProcess | undefined;
  let env: NodeJS.ProcessEnv;
  let adminPort: number;
  const commands = quickTourCommands(readFileSync(join(repoRoot, 'README.md'), 'utf8'));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-e2e-quick-tour-'));
    clone = join(dir, 'trivy-mirror');
    copyCheckout(clone);
    upstream = await startDemoUpstream(join(dir, 'upstream'), { dbBytes: 64 * 1024 });
    adminPort = await freePort();
    const servePort = await freePort();
    // this node first: npm and the tour's commands run on it
    const path = `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`;
    const npmCache =
      process.env.npm_config_cache ||
      execFileSync('npm', ['config', 'get', 'cache'], {
        encoding: 'utf8',
        env: { ...process.env, PATH: path },
      }).trim();
    const deadProxy = 'http://127.0.0.1:9';
    env = {
      PATH: path,
      HOME: join(dir, 'home'),
      ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
      NO_COLOR: '1',
      // npm ci from the cache the checkout's own install filled; never the registry
      npm_config_cache: npmCache,
      npm_config_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      HTTP_PROXY: deadProxy,
      HTTPS_PROXY: deadProxy,
      http_proxy: deadProxy,
      https_proxy: deadProxy,
      NO_PROXY: '',
      TRIVY_MIRROR_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      TRIVY_MIRROR_SERVE_LISTEN: `127.0.0.1:${servePort}`,
      TRIVY_MIRROR__SERVE__PUBLICURL: `http://127.0.0.1:${servePort}`,
      TRIVY_MIRROR__PLUGINS__OCI_SYNC__SOURCES: `[${upstream.registryHost}/aquasec]`,
      TRIVY_MIRROR__PLUGINS__VEXHUB_MIRROR__REPOSITORIES: `[{ name: vexhub, url: "${upstream.vexUrl}" }]`,
    };
    mkdirSync(env.HOME!, { recursive: true });
  });

  after(async () => {
    await daemon?.stop('SIGKILL').catch(() => {});
    await upstream?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the tour builds first, runs the local profile and looks into the store', () => {
    assert.match(commands[0] ?? '', /^npm ci && npm run build$/);
    for (const expected of [
      'npx trivy-mirror config example --profile local > config.yaml',
      'npx trivy-mirror run --config config.yaml',
      'npx trivy-mirror status',
      'npx trivy-mirror store verify --config config.yaml',
    ])
      assert.ok(commands.includes(expected), `${expected} in ${JSON.stringify(commands, null, 2)}`);
  });

  test('before a build, the CLI says to build (no module-not-found trace)', async () => {
    const r = await bash('node apps/daemon/bin/trivy-mirror.js --help', clone, env, 30_000);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /^trivy-mirror: not built yet: .*apps\/daemon\/dist\/cli-entry\.js is missing/);
    assert.match(r.out, /npm ci && npm run build/);
    assert.doesNotMatch(r.out, /ERR_MODULE_NOT_FOUND|^\s+at /m);
  });

  test('every command, as written and in order, exits 0', async (t) => {
    const bin = join(clone, 'apps/daemon/bin/trivy-mirror.js');
    // npx runs node_modules/.bin/trivy-mirror of the clone: the same file
    const npx = `npx() { if [ "$1" = trivy-mirror ]; then shift; node '${bin}' "$@"; else command npx "$@"; fi; }`;
    for (const command of commands) {
      const t0 = Date.now();
      const run = /^npx trivy-mirror (run\b.*)$/.exec(command);
      if (run) {
        daemon = await startDaemon({
          bin,
          args: run[1]!.split(/\s+/),
          adminUrl: `http://127.0.0.1:${adminPort}`,
          cwd: clone,
          env: env as Record<string, string>,
        });
        await waitReady(daemon, 60_000);
      } else {
        const r = await bash(`set -eo pipefail\n${npx}\n${command}`, clone, env, 240_000);
        assert.equal(r.code, 0, `\`${command}\` exited ${r.code}:\n${r.out.slice(-4000)}`);
      }
      t.diagnostic(`${command}: ${Date.now() - t0} ms`);
      if (command.startsWith('npm ci'))
        assert.equal(realpathSync(join(clone, 'node_modules/.bin/trivy-mirror')), realpathSync(bin));
    }
    assert.ok(daemon, 'the tour starts the daemon');
    const stopped = await daemon.stop();
    assert.equal(stopped.code, 0, daemon.stderr());
  });
});

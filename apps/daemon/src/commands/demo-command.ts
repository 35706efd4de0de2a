// `trivy-mirror demo`: the whole mirror offline in temp dirs — a local fixture upstream, every plugin,
// the admin and serving listeners — then prints what to point Trivy at.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientConfigContribution, type ClientConfigSection } from '@trivy-mirror/plugin-api/contributions';
import { MirrorError } from '@trivy-mirror/plugin-api/errors';
import type { Runtime } from '@trivy-mirror/runtime';
import type { Command } from 'commander';
import { builtins } from '../command-helpers/cli-context.js';
import { formatAge, exitWith } from '../output/cli-output.js';
import { version } from '../version.js';
import { renderSections } from './client-config-command.js';

interface DemoOpts {
  dir?: string;
  keep?: boolean;
  exitWhenReady?: boolean;
  dbSize?: string;
  adminPort: string;
  servePort: string;
  verbose?: boolean;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run the whole mirror offline in temp dirs against a local fixture upstream; prints what to point Trivy at',
    )
    .option('--dir <dir>', 'work dir (default: a new temp dir, removed at exit unless --keep)')
    .option('--keep', 'keep the work dir at exit')
    .option('--exit-when-ready', 'stop once everything is synced, populated and ready (for scripts and CI)')
    .option(
      '--db-size <mib>',
      'synthetic trivy.db and trivy-java.db of this size in MiB instead of the real-format fixture data ' +
        '(Trivy cannot scan with synthetic bytes)',
    )
    .option('--admin-port <port>', 'admin listener port on 127.0.0.1 (0 = any free port)', '0')
    .option('--serve-port <port>', 'serving listener port on 127.0.0.1 (0 = any free port)', '0')
    .option('-v, --verbose', 'show the daemon logs')
    .addHelpText(
      'after',
      `
Examples:
  trivy-mirror demo
  trivy-mirror demo --exit-when-ready                  # a quick end-to-end check
  trivy-mirror demo --db-size 512                      # mirror larger (synthetic) databases
  trivy-mirror demo --dir /tmp/tm-demo --keep --admin-port 9180`,
    )
    .action(
      exitWith(async (opts: DemoOpts) => {
        const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'trivy-mirror-demo-')));
        const out = (s = '') => process.stdout.write(`${s}\n`);
        out(`trivy-mirror demo — work dir ${dir}`);
        const mib = opts.dbSize === undefined ? undefined : Number(opts.dbSize);
        if (mib !== undefined && (!Number.isFinite(mib) || mib <= 0))
          throw new Error(`--db-size: expected MiB, got ${opts.dbSize}`);
        const { startDemoUpstream } = await loadDemoUpstream();
        out(
          '1. starting a local upstream (trivy-db:2, trivy-java-db:1, trivy-checks:1/:2, a VEX repository)…',
        );
        const upstream = await startDemoUpstream(join(dir, 'upstream'), {
          dbBytes: mib === undefined ? undefined : Math.round(mib * 1024 * 1024),
        });
        out(
          upstream.projectDir
            ? '   real-format data: a BoltDB trivy.db, a SQLite java DB, Rego checks, the VEX Hub snapshot'
            : `   synthetic databases of ${mib ?? 8} MiB (the real shapes; Trivy cannot scan with them)`,
        );
        out(
          `   upstream registry http://${upstream.registryHost}/v2/aquasec/…, VEX repository ${upstream.vexUrl}`,
        );
        const adminPort = await pickPort(Number(opts.adminPort));
        const servePort = await pickPort(Number(opts.servePort));
        const cacheDir = join(dir, 'trivy-cache');
        const configPath = join(dir, 'config.yaml');
        await writeFile(
          configPath,
          [
            '# Written by `trivy-mirror demo`: the same config shape you would use on a bastion host.',
            `stateDir: ${join(dir, 'state')}`,
            `admin: { listen: 127.0.0.1:${adminPort} }`,
            `serve: { listen: 127.0.0.1:${servePort}, publicUrl: http://127.0.0.1:${servePort} }`,
            `log: { level: ${opts.verbose ? 'info' : 'warn'}, format: json }`,
            'plugins:',
            '  auth-providers: { dockerConfig: false }',
            '  oci-sync:',
            `    sources: [${upstream.registryHost}/aquasec]`,
            '  cache-populator:',
            `    targets: [{ dir: ${cacheDir} }]`,
            '  vexhub-mirror:',
            `    repositories: [{ name: vexhub, url: ${upstream.vexUrl} }]`,
            '',
          ].join('\n'),
        );
        out(`2. starting the daemon (config ${configPath})…`);
        const { createLogger, runDaemon } = await import('@trivy-mirror/runtime');
        const logger = createLogger({ level: opts.verbose ? 'info' : 'warn', format: 'auto' });
        const t0 = Date.now();
        let code = 0;
        try {
          code = await runDaemon({
            configPath,
            builtins: await builtins(),
            version,
            mode: 'demo',
            logger,
            exit: () => {},
            onStarted: (runtime) => {
              void whenReady(runtime, 120_000).then(
                async () => {
                  out(
                    `3. ready after ${((Date.now() - t0) / 1000).toFixed(1)} s: synced, populated, VEX mirrored.\n`,
                  );
                  await printSummary(runtime, { dir, cacheDir, projectDir: upstream.projectDir }, out);
                  if (opts.exitWhenReady) {
                    await jobsSettled(runtime, 10_000);
                    await runtime.stop('demo done');
                  } else out('Running; press Ctrl-C to stop.');
                },
                async (err: Error) => {
                  process.stderr.write(`demo: ${err.message}\n`);
                  code = 1;
                  await runtime.stop('demo failed');
                },
              );
            },
          });
        } finally {
          await upstream.close();
          if (!opts.keep && !opts.dir) await rm(dir, { recursive: true, force: true });
          else out(`kept ${dir}`);
        }
        return code;
      }),
    );
}

async function whenReady(runtime: Runtime, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const r = await runtime.readiness();
    if (r.ready) return;
    if (runtime.phase === 'stopping' || runtime.phase === 'stopped') throw new Error('stopped before ready');
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`not ready after ${timeoutMs / 1000} s: ${JSON.stringify(r)}`);
    }
    await new Promise((res) => setTimeout(res, 200));
  }
}

/**
 * Waits until no job has run for a moment. Being ready can trigger follow-up runs (a populate after
 * the last VEX version, a watch event); stopping cuts a running job short, which the runtime logs as a
 * warning, a stray line after the summary.
 */
async function jobsSettled(runtime: Runtime, timeoutMs: number, quietMs = 300): Promise<void> {
  const t0 = Date.now();
  let quietSince = t0;
  while (Date.now() - t0 < timeoutMs) {
    if (runtime.jobs.busy()) quietSince = Date.now();
    else if (Date.now() - quietSince >= quietMs) return;
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function printSummary(
  runtime: Runtime,
  where: { dir: string; cacheDir: string; projectDir?: string },
  out: (s?: string) => void,
): Promise<void> {
  const { cacheDir } = where;
  const status = (await runtime.status()) as unknown as {
    jobs: { id: string; lastRun?: { status: string; summary?: string; endedAt?: string } }[];
  };
  out('Jobs:');
  for (const j of status.jobs) {
    out(
      `  ${j.id.padEnd(16)} ${j.lastRun ? `${j.lastRun.status}, ${formatAge(j.lastRun.endedAt)}: ${j.lastRun.summary ?? ''}` : 'not run'}`,
    );
  }
  out();
  out(`Admin:   ${runtime.adminUrl}/ (status page)  ${runtime.adminUrl}/status  ${runtime.adminUrl}/metrics`);
  out(`Serving: ${runtime.serveUrl}/v2/_catalog  ${runtime.serveUrl}/.well-known/vex-repository.json`);
  out(`Cache dir for offline scanners: ${cacheDir}`);
  out();
  const publicUrl = runtime.serveUrl ?? '';
  const sections: ClientConfigSection[] = (
    runtime.container?.getAll<ClientConfigContribution>(ClientConfigContribution, {
      optional: true,
    }) ?? []
  )
    .map((c) => c.render({ publicUrl, cacheDir }))
    .filter((s): s is ClientConfigSection => s !== undefined);
  out(renderSections(sections).trimEnd());
  out();
  if (where.projectDir) {
    const { demoTrivyCommand } = await import('../demo/demo-trivy-command.js');
    for (const line of (await demoTrivyCommand(where.dir, where.projectDir, sections)).lines) out(line);
  } else {
    out(
      '(The demo databases are synthetic: Trivy accepts the layout and metadata, but a real scan needs the real DB.)',
    );
  }
}

async function pickPort(port: number): Promise<number> {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port ${port}`);
  if (port !== 0) return port;
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return p;
}

/**
 * The demo's upstream is built by the fixture generator, a development dependency: a checkout
 * (`npm run demo`) and the single executable have it; a production npm install does not ship it.
 */
async function loadDemoUpstream(): Promise<typeof import('../demo/demo-upstream.js')> {
  try {
    return await import('../demo/demo-upstream.js');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' || !String((err as Error).message).includes('@trivy-mirror/fixtures'))
      throw err;
    throw new MirrorError(
      'DEMO_UNAVAILABLE',
      'the demo needs the fixture generator @trivy-mirror/fixtures, which a production install leaves out: run it from a checkout (npm ci && npm run demo) or from the single executable or .deb, which bundle it',
      { cause: err },
    );
  }
}

// Benchmark entry (`npm run bench [-- --quick] [-- --only copy,sync] [-- --size 1GB]`): runs each
// benchmark against its peer tool in the same run, prints one result line per benchmark and writes
// the figures to .bench/results-<timestamp>.json. Not a test: a missed goal prints FAIL, exits 0.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type GoPeer, goPeerBinary, parseByteSize } from '@trivy-mirror/fixtures';
import { copyBench } from './benches/copy-bench.js';
import { idleBench } from './benches/idle-bench.js';
import { populateBench } from './benches/populate-bench.js';
import { serveBench } from './benches/serve-bench.js';
import { serveStaticBench } from './benches/serve-static-bench.js';
import { startupBench } from './benches/startup-bench.js';
import { syncBench } from './benches/sync-bench.js';
import {
  BenchContext,
  type BenchOptions,
  type BenchResult,
  type Benchmark,
  PEER_TOOLS,
} from './lib/bench-context.js';
import { type CliChoice, type CliForm, chooseCli } from './lib/cli-form.js';
import { cliBuilt, REPO_ROOT, trivyMirror } from './lib/daemon-cli.js';
import { formatMb, formatSeconds } from './lib/format.js';
import { hasGnuTime, runMeasured } from './lib/measure.js';
import { dropFromPageCache, toolVersion } from './lib/system.js';

const BENCHMARKS: Benchmark[] = [
  startupBench,
  copyBench,
  syncBench,
  serveBench,
  serveStaticBench,
  populateBench,
  idleBench,
];

const GO_PEERS: GoPeer[] = ['crane', 'oras', 'regctl', 'regsync'];

/** The pinned peer's path, or its bare name (whose version then reads 'unknown') when it is missing. */
function peerBinaryOrName(name: GoPeer): string {
  try {
    return goPeerBinary(name);
  } catch {
    return name;
  }
}

const USAGE = `usage: npm run bench -- [--quick] [--only NAME[,NAME]] [--size 1GB] [--repeat N] [--clients N]
                       [--idle-seconds N] [--keep-artifacts] [--cli auto|executable|node]

  --quick           ~50 MB artifacts, 4 clients, 8 s idle window: a smoke check (under a minute)
  --only NAMES      run these benchmarks only: ${BENCHMARKS.map((b) => b.name).join(', ')};
                    and/or these peers only: ${PEER_TOOLS.join(', ')} (trivy-mirror and the floor always run)
  --size SIZE       layer size for copy/sync/serve (default 1GB); populate uses a trivy.db of 1.1 × SIZE
  --repeat N        runs per contender, median reported (default 1)
  --clients N       concurrent clients in serve (default 16, quick 4)
  --idle-seconds N  idle sampling window (default 60, quick 8)
  --keep-artifacts  generate layers into .bench/artifacts and reuse them next time
  --cli FORM        what runs: the single executable of npm run package (what the .deb installs),
                    node with apps/daemon/bin/trivy-mirror.js, or auto (default): the executable when
                    it is built and not older than the build, else node

benchmarks:
${BENCHMARKS.map((b) => `  ${b.name.padEnd(9)} ${b.description}`).join('\n')}
`;

function parseOptions(
  argv: string[],
): { options: BenchOptions; only: string[]; keep: boolean; cli: CliChoice } | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      size: { type: 'string' },
      repeat: { type: 'string' },
      clients: { type: 'string' },
      'idle-seconds': { type: 'string' },
      'keep-artifacts': { type: 'boolean', default: false },
      cli: { type: 'string', default: 'auto' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return undefined;
  }
  const quick = values.quick ?? false;
  const layerBytes = values.size ? parseByteSize(values.size) : quick ? 50e6 : 1e9;
  const int = (v: string | undefined, fallback: number, name: string) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`--${name} expects a whole number ≥ 1`);
    return n;
  };
  const only = (values.only ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  const isPeer = (name: string) => (PEER_TOOLS as readonly string[]).includes(name);
  for (const name of only) {
    if (!BENCHMARKS.some((b) => b.name === name) && !isPeer(name)) {
      throw new Error(
        `unknown benchmark or peer "${name}" (benchmarks: ${BENCHMARKS.map((b) => b.name).join(', ')}; peers: ${PEER_TOOLS.join(', ')})`,
      );
    }
  }
  const peers = only.filter(isPeer);
  const cli = values.cli ?? 'auto';
  if (cli !== 'auto' && cli !== 'executable' && cli !== 'node')
    throw new Error(`--cli expects auto, executable or node, not "${cli}"`);
  return {
    only: only.filter((name) => !isPeer(name)),
    cli,
    keep: values['keep-artifacts'] ?? false,
    options: {
      quick,
      layerBytes,
      populateDbBytes: Math.round(layerBytes * 1.1),
      clients: int(values.clients, quick ? 4 : 16, 'clients'),
      repeat: int(values.repeat, 1, 'repeat'),
      idleSeconds: int(values['idle-seconds'], quick ? 8 : 60, 'idle-seconds'),
      artifactDir: '',
      ...(peers.length ? { peers } : {}),
    },
  };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!parsed) return 0;
  const { options, only, keep } = parsed;
  let cli: CliForm;
  try {
    cli = chooseCli(parsed.cli);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    return 2;
  }
  const selected = only.length ? BENCHMARKS.filter((b) => only.includes(b.name)) : BENCHMARKS;
  const tempRoot = await mkdtemp(join(tmpdir(), 'trivy-mirror-bench-'));
  options.artifactDir = keep ? join(REPO_ROOT, '.bench', 'artifacts') : join(tempRoot, 'artifacts');
  const ctx = new BenchContext(options, tempRoot);
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('\ninterrupted: cleaning up (again to force)\n');
    void ctx
      .cleanup()
      .finally(() => rm(tempRoot, { recursive: true, force: true }).finally(() => process.exit(130)));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const built = cliBuilt();
  process.stdout.write(
    `trivy-mirror benchmarks${options.quick ? ' (quick)' : ''}: ${selected.map((b) => b.name).join(', ')}; ` +
      `${cpus().length} CPUs, node ${process.version}, peak RSS via ${hasGnuTime ? '/usr/bin/time + /proc' : '/proc'}\n`,
  );
  if (!built)
    process.stdout.write('apps/daemon/dist/main.js is missing: only the peers run (npm run build)\n');
  else process.stdout.write(`trivy-mirror measured: ${cli.describe}\n`);
  // As `npm run package` leaves it, the executable's page cache makes the kernel map ~20 MB more of
  // it into every process than when it is read in from disk (as an installed one is): RSS figures
  // would carry the build's traces. Dropped once here; the first run reads it in.
  if (built && cli.kind === 'executable' && (await dropFromPageCache(cli.file)))
    process.stdout.write(
      'the executable was dropped from the page cache: the first run reads it from disk\n',
    );
  // Context for small sizes: what the CLI costs before it does anything.
  const startup = built ? await trivyMirror(['--version'], 30_000) : undefined;
  const bareNode = await runMeasured(process.execPath, ['-e', ''], { timeoutMs: 30_000 });
  if (startup) {
    process.stdout.write(
      `CLI start-up (trivy-mirror --version): ${formatSeconds(startup.wallMs)}, RSS ${formatMb(startup.peakRssBytes)}` +
        ` (bare node: ${formatSeconds(bareNode.wallMs)}, ${formatMb(bareNode.peakRssBytes)})\n`,
    );
  }

  const startedAt = new Date();
  const results: BenchResult[] = [];
  try {
    for (const bench of selected) {
      process.stderr.write(`▶ ${bench.name}\n`);
      const t = Date.now();
      let r: BenchResult;
      try {
        r = await bench.run(ctx);
      } catch (err) {
        const message = (err as Error).message;
        r = {
          name: bench.name,
          status: 'ERROR',
          line: `${bench.name.padEnd(9)} ERROR`,
          checks: [],
          metrics: {},
          notes: [],
          error: message,
        };
      }
      r.metrics.benchMs = Date.now() - t;
      if (options.quick && (r.status === 'PASS' || r.status === 'FAIL')) {
        r.line = r.line.replace(/ (PASS|FAIL)$/, ' ok (quick: goals not judged)');
        r.status = 'OK';
      }
      results.push(r);
      process.stdout.write(`${r.line}\n`);
      if (r.error) process.stdout.write(`          ${r.error.split('\n').join('\n          ')}\n`);
    }
  } finally {
    await ctx.cleanup();
    await rm(tempRoot, { recursive: true, force: true });
  }

  const outDir = join(REPO_ROOT, '.bench');
  await mkdir(outDir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const file = join(outDir, `results-${stamp}.json`);
  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options: { ...options, artifactDir: undefined, only },
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryBytes: totalmem(),
      node: process.version,
      skopeo: await toolVersion('skopeo'),
      curl: await toolVersion('curl'),
      tar: await toolVersion('tar'),
      ...Object.fromEntries(
        await Promise.all(
          GO_PEERS.map(async (p) => [p, await toolVersion(peerBinaryOrName(p), ['version'])]),
        ),
      ),
      daemonBuilt: built,
      cliStartupWallMs: startup?.wallMs,
      cliStartupRssBytes: startup?.peakRssBytes,
      nodeStartupWallMs: bareNode.wallMs,
      nodeStartupRssBytes: bareNode.peakRssBytes,
      rssMethod: hasGnuTime ? 'gnu-time+proc' : 'proc',
    },
    results,
  };
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);

  process.stdout.write('\nsummary\n');
  for (const r of results) process.stdout.write(`  ${r.status.padEnd(5)} ${r.name}\n`);
  process.stdout.write(`results: ${file}\n`);
  return results.some((r) => r.status === 'ERROR') ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  },
);

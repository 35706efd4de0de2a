// idle: `trivy-mirror run` with every plugin configured against small local sources (registry seeded
// with the four small artifacts, a local VEX repository, one watched cache dir), sampled for N seconds
// once ready and quiet: resident memory and CPU use of a daemon that has nothing to do.
import { join } from 'node:path';
import { freePort, seedUpstream } from '@trivy-mirror/fixtures';
import { type Benchmark, type BenchContext, result, skipped } from '../lib/bench-context.js';
import {
  cliBuilt,
  startDaemon,
  unitEnvironment,
  waitUntilQuiet,
  writeDaemonConfig,
} from '../lib/daemon-cli.js';
import { formatMb, formatRatio } from '../lib/format.js';
import { readMemory } from '../lib/proc-stats.js';
import { dropFromPageCache } from '../lib/system.js';
import { cliForm } from '../lib/cli-form.js';

const GOAL_RSS = 70e6;
const GOAL_CPU_PERCENT = 0.5;

export const idleBench: Benchmark = {
  name: 'idle',
  description: `trivy-mirror run with nothing to do: RSS (goal < ${GOAL_RSS / 1e6} MB) and CPU (goal < ${GOAL_CPU_PERCENT}%)`,
  async run(ctx: BenchContext) {
    const seconds = ctx.options.idleSeconds;
    const head = `idle      ${seconds} s`;
    if (!cliBuilt()) return skipped('idle', head, 'daemon not built', {});
    const registry = await ctx.startRegistry();
    const dir = await ctx.tempDir('idle');
    await seedUpstream({ registryUrl: registry.url, workDir: join(dir, 'work'), seed: 'bench-idle' });
    const adminPort = await freePort();
    const config = await writeDaemonConfig(join(dir, 'config.yaml'), {
      stateDir: join(dir, 'state'),
      adminPort,
      servePort: await freePort(),
      sources: [`${registry.host}/aquasec`],
      artifacts: [
        { name: 'trivy-db', tags: ['2'] },
        { name: 'trivy-java-db', tags: ['1'] },
        { name: 'trivy-checks', tags: ['1', '2'] },
      ],
      cacheTargets: [{ dir: join(dir, 'cache') }],
      vexUrl: await ctx.vexUrl(),
    });
    // A bastion starts the unit after a boot, with the executable not in the page cache; the one
    // `npm run package` just wrote is, and that state alone moves the file-backed RSS by ~20 MB.
    const cli = cliForm();
    const cold = cli.kind === 'executable' && (await dropFromPageCache(cli.file));
    let daemon: Awaited<ReturnType<typeof startDaemon>>;
    try {
      daemon = await startDaemon(config, adminPort, 120_000);
    } catch (err) {
      return {
        ...skipped('idle', head, 'trivy-mirror run failed', {}),
        status: 'ERROR',
        error: (err as Error).message,
      };
    }
    ctx.onCleanup(() => daemon.stop());
    const settled = await waitUntilQuiet(daemon, 60_000);
    const env = Object.entries(unitEnvironment()).map(([k, v]) => `${k}=${v}`);
    ctx.log(
      `daemon ready (environment of the systemd unit: ${env.join(' ') || 'none'}; ${cold ? 'executable dropped from the page cache before exec' : 'page cache as it was'})`,
    );
    ctx.log(`start-up work done after ${settled} ms more`);

    // Sample RSS once a second; CPU from /proc/<pid>/stat at both ends of the window.
    const cpuStart = await daemon.cpuMs();
    const t0 = process.hrtime.bigint();
    const rss: number[] = [];
    for (let i = 0; i < seconds && !daemon.exited(); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      rss.push(await daemon.rss());
    }
    const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpuMs = (await daemon.cpuMs()) - cpuStart;
    const lastMemory = await readMemory(daemon.pid);
    const lifetimePeak = lastMemory?.hwm ?? 0;
    const exited = daemon.exited();
    const tail = daemon.stderrTail();
    await daemon.stop();
    if (exited) {
      return {
        ...skipped('idle', head, 'trivy-mirror run exited while idle', {}),
        status: 'ERROR',
        error: tail.slice(-2000),
      };
    }
    const peak = Math.max(...rss);
    const last = rss[rss.length - 1];
    const cpuPercent = (cpuMs / elapsedMs) * 100;
    return result(
      'idle',
      `${head}  RSS ${formatMb(last)} (anon ${formatMb(lastMemory?.anon ?? 0)} + file ${formatMb(lastMemory?.file ?? 0)}; peak ${formatMb(peak)} = ${formatRatio(peak / GOAL_RSS)} of goal < ${formatMb(GOAL_RSS)}; since start ${formatMb(lifetimePeak)})  CPU ${cpuPercent.toFixed(2)}% (${cpuMs.toFixed(0)} ms) = ${formatRatio(cpuPercent / GOAL_CPU_PERCENT)} of goal < ${GOAL_CPU_PERCENT}%`,
      [
        { goal: `RSS < ${formatMb(GOAL_RSS)}`, ok: peak < GOAL_RSS },
        { goal: `CPU < ${GOAL_CPU_PERCENT}%`, ok: cpuPercent < GOAL_CPU_PERCENT },
      ],
      {
        seconds,
        rssBytes: last,
        peakRssBytes: peak,
        lifetimePeakRssBytes: lifetimePeak,
        anonBytes: lastMemory?.anon ?? 0,
        fileBytes: lastMemory?.file ?? 0,
        cpuMs,
        cpuPercent,
        settleMs: settled,
      },
    );
  },
};

// copy and sync measure every contender (trivy-mirror, the peer tools, the curl floor) the same way:
// `repeat` rounds, the order rotating each round so no one always runs first on a cooler machine, each
// run into a fresh destination registry after `sync(1)`. A contender that fails is left out of later
// rounds and its error kept, so one broken peer does not hide the others' figures.
import type { RunningRegistry } from '@trivy-mirror/fixtures';
import type { BenchContext } from './bench-context.js';
import { formatMb, formatSeconds } from './format.js';
import { describeFailure, type Measurement } from './measure.js';
import { flushDisks } from './system.js';

/** What one timed run cost. */
export interface RunFigures {
  wallMs: number;
  /** Peak RSS of the run's process tree (the larger hop for two-hop peers), bytes. */
  rssBytes: number;
  /** User + system CPU, ms. */
  cpuMs: number;
  /**
   * sync only: how long an fsync of the store's layer blob took right after the run (not in wallMs).
   * trivy-mirror fsyncs its store inside its time (this is then ~0); a peer that leaves the store to
   * the kernel's writeback pays it here.
   */
  storeFsyncMs?: number;
}

export interface Contender {
  /** As printed and as `--only` names it: 'trivy-mirror', 'crane', 'floor', … */
  name: string;
  /** One timed run into `dst`; checks what landed there and throws when the run or the check failed. */
  run(dst: RunningRegistry): Promise<RunFigures>;
}

export interface RoundsOutcome {
  /** Figures of each contender's successful runs, by name. */
  runs: Map<string, RunFigures[]>;
  /** The first failure of each contender that failed, by name. */
  errors: Map<string, string>;
}

/** The figures of a measured command, or its failure as an Error. */
export function figuresOf(m: Measurement): RunFigures {
  if (m.exitCode !== 0) throw new Error(describeFailure(m));
  return { wallMs: m.wallMs, rssBytes: m.peakRssBytes, cpuMs: m.cpuMs };
}

/** Two commands run one after the other (e.g. two hops through a layout), as one run. */
export function summed(a: RunFigures, b: RunFigures): RunFigures {
  return {
    wallMs: a.wallMs + b.wallMs,
    rssBytes: Math.max(a.rssBytes, b.rssBytes),
    cpuMs: a.cpuMs + b.cpuMs,
  };
}

export async function rotatingRounds(ctx: BenchContext, contenders: Contender[]): Promise<RoundsOutcome> {
  const runs = new Map<string, RunFigures[]>(contenders.map((c) => [c.name, []]));
  const errors = new Map<string, string>();
  for (let i = 0; i < ctx.options.repeat; i++) {
    const order = contenders.map((_, k) => contenders[(k + i) % contenders.length]);
    for (const c of order) {
      if (errors.has(c.name)) continue;
      const dst = await ctx.startRegistry();
      try {
        await flushDisks();
        const f = await c.run(dst);
        runs.get(c.name)?.push(f);
        const fsync =
          f.storeFsyncMs !== undefined ? `, store fsync after it ${formatSeconds(f.storeFsyncMs)}` : '';
        ctx.log(
          `${c.name}: ${formatSeconds(f.wallMs)}, peak RSS ${formatMb(f.rssBytes)}, cpu ${formatSeconds(f.cpuMs)}${fsync}`,
        );
      } catch (err) {
        errors.set(c.name, (err as Error).message);
        ctx.log(`${c.name} failed: ${(err as Error).message}`);
      } finally {
        await dst.stop();
      }
    }
  }
  return { runs, errors };
}

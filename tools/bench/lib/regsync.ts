// regsync doing sync's job: upstream → an OCI layout store (`ocidir://`) and → a destination registry,
// in one `regsync once`. Two shapes of config, both what a regsync user could write:
// - chain: upstream → ocidir, then ocidir → destination (one pull from upstream, like trivy-mirror);
// - fanout: upstream → ocidir and upstream → destination at once (`parallel: 2`; pulls upstream twice).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { goPeerBinary } from '@trivy-mirror/fixtures';
import type { BenchContext } from './bench-context.js';
import { hostOf } from './go-peers.js';
import { runMeasured } from './measure.js';
import { figuresOf, type RunFigures } from './rounds.js';

export type RegsyncShape = 'chain' | 'fanout';

export interface RegsyncJob {
  /** HOST:PORT/REPO:TAG upstream */
  source: string;
  /** Directory of the OCI layout store (created by regsync), and the reference in it */
  layoutDir: string;
  layoutRef: string;
  /** HOST:PORT/REPO:TAG destination */
  destination: string;
}

/** The regsync config (JSON, which is valid YAML) for one shape. */
function regsyncConfig(job: RegsyncJob, shape: RegsyncShape): unknown {
  const store = `ocidir://${job.layoutDir}/${job.layoutRef}`;
  const hosts = [...new Set([hostOf(job.source), hostOf(job.destination)])];
  return {
    version: 1,
    creds: hosts.map((registry) => ({ registry, tls: 'disabled' })),
    defaults: { skipDockerConfig: true, ...(shape === 'fanout' ? { parallel: 2 } : {}) },
    sync: [
      { source: job.source, target: store, type: 'image' },
      { source: shape === 'chain' ? store : job.source, target: job.destination, type: 'image' },
    ],
  };
}

/** One `regsync once` of the job, measured; throws when it failed. */
export async function regsyncOnce(
  ctx: BenchContext,
  job: RegsyncJob,
  shape: RegsyncShape,
  timeoutMs: number,
): Promise<RunFigures> {
  const home = await ctx.tempDir('regsync-home');
  const config = join(home, 'regsync.yml');
  await writeFile(config, `${JSON.stringify(regsyncConfig(job, shape), null, 2)}\n`);
  // --abort-on-error: a failed step fails the run (store and destination are checked after it anyway)
  const args = ['once', '--abort-on-error', '-v', 'warn', '-c', config];
  const m = await runMeasured(goPeerBinary('regsync'), args, {
    env: { ...process.env, HOME: home },
    timeoutMs,
  });
  return figuresOf(m);
}

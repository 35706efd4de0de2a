// sync: the ~1 GB java-db artifact upstream → OCI layout store → one destination registry, by
// `trivy-mirror sync` (one pass, fresh state dir), regsync (`ocidir://` store and the destination in one
// `regsync once`, two config shapes), skopeo's two hops (→ `oci:` layout → destination, summed), and
// the `curl GET | curl PUT` floor of the blob. Store and destination are checked after every run.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, type RunningRegistry } from '@trivy-mirror/fixtures';
import type { Benchmark, BenchContext, JavaDbUpstream } from '../lib/bench-context.js';
import { cliBuilt, trivyMirror, writeDaemonConfig } from '../lib/daemon-cli.js';
import { formatBytes, formatSeconds, median } from '../lib/format.js';
import { assertLayoutTag } from '../lib/layout-checks.js';
import { describeFailure } from '../lib/measure.js';
import { type MetadataRead, measureMetadataRead } from '../lib/metadata-read.js';
import { assertManifest, curlFloor, curlGet } from '../lib/registry-checks.js';
import { regsyncOnce, type RegsyncShape } from '../lib/regsync.js';
import { type Contender, figuresOf, type RunFigures, rotatingRounds, summed } from '../lib/rounds.js';
import { skopeoCopy } from '../lib/skopeo.js';
import { flushDisks, timedFsync } from '../lib/system.js';
import { FLOOR, OURS, versusPeers } from '../lib/versus-peers.js';

const GOAL_FLOOR = 1.25;
const GOAL_RSS = 150e6;
const REGSYNC: Record<RegsyncShape, string> = { chain: 'regsync', fanout: 'regsync fan-out' };

export const syncBench: Benchmark = {
  name: 'sync',
  description: `trivy-mirror sync (upstream → store → destination) vs regsync (ocidir:// store + destination), skopeo's two hops and the curl GET | PUT floor (goal: ahead of regsync, ≤ ${GOAL_FLOOR}x the floor, RSS < ${GOAL_RSS / 1e6} MB)`,
  async run(ctx: BenchContext) {
    const up = await ctx.javaDbUpstream();
    const { layer } = up.artifact;
    const src = `${up.registry.host}/${up.repository}:${up.tag}`;
    const timeoutMs = Math.max(120_000, (layer.size / 4e6) * 1000);
    const built = cliBuilt();
    const blobUrl = `${up.registry.url}/v2/${up.repository}/blobs/${layer.digest}`;
    const warm = await curlGet(blobUrl, timeoutMs);
    if (warm.exitCode !== 0) throw new Error(describeFailure(warm));

    // What the metadata.json check (which no peer makes) costs, read alone right after each of our runs.
    const reads: MetadataRead[] = [];
    const contenders: Contender[] = [];
    if (built) {
      contenders.push({
        name: OURS,
        run: async (dst) => {
          const f = await trivyMirrorSync(ctx, up, dst, timeoutMs);
          const read = await measureMetadataRead(layer.path, timeoutMs);
          reads.push(read);
          ctx.log(
            `metadata.json read alone: ${formatSeconds(read.wallMs)}, cpu ${formatSeconds(read.cpuMs)}`,
          );
          return f;
        },
      });
    }
    if (ctx.wantsPeer('regsync')) {
      for (const shape of ['chain', 'fanout'] as const) {
        contenders.push({
          name: REGSYNC[shape],
          run: (dst) => withLayout(ctx, up, dst, (dir) => regsyncRun(ctx, src, dir, dst, shape, timeoutMs)),
        });
      }
    }
    if (ctx.wantsPeer('skopeo')) {
      contenders.push({
        name: 'skopeo two hops',
        run: (dst) => withLayout(ctx, up, dst, (dir) => skopeoTwoHops(ctx, src, up, dir, dst, timeoutMs)),
      });
    }
    contenders.push({
      name: FLOOR,
      run: (dst) => curlFloor(blobUrl, dst, layer.digest, timeoutMs),
    });

    const outcome = await rotatingRounds(ctx, contenders);
    const metrics: Record<string, number | string> = { layerBytes: layer.size, runs: ctx.options.repeat };
    const notes: string[] = [];
    if (reads.length > 0) {
      const wall = median(reads.map((r) => r.wallMs));
      Object.assign(metrics, {
        metadataReadWallMs: wall,
        metadataReadCpuMs: median(reads.map((r) => r.cpuMs)),
      });
      notes.push(`metadata.json check alone ${formatSeconds(wall)}`);
    }
    // making each store durable after the run: trivy-mirror's is fsynced inside its time already
    const fsyncs = [...outcome.runs]
      .filter(([, runs]) => runs.some((r) => r.storeFsyncMs !== undefined))
      .map(([name, runs]) => `${name} ${formatSeconds(median(runs.map((r) => r.storeFsyncMs ?? 0)))}`);
    if (fsyncs.length > 0) notes.push(`store fsync after the run: ${fsyncs.join(', ')}`);
    return versusPeers({
      name: 'sync',
      head: `sync      ${formatBytes(layer.size)}`,
      outcome,
      built,
      goals: { floorRatio: GOAL_FLOOR, rssBytes: GOAL_RSS, aheadOf: Object.values(REGSYNC) },
      metrics,
      note: notes.join(', ') || undefined,
    });
  },
};

/** One `trivy-mirror sync` pass (fresh state dir) into `dst`; store and destination checked. */
async function trivyMirrorSync(
  ctx: BenchContext,
  up: JavaDbUpstream,
  dst: RunningRegistry,
  timeoutMs: number,
): Promise<RunFigures> {
  const dir = await ctx.tempDir('sync');
  try {
    const config = await writeDaemonConfig(join(dir, 'config.yaml'), {
      stateDir: join(dir, 'state'),
      adminPort: await freePort(),
      sources: [`${up.registry.host}/aquasec`],
      artifacts: [{ name: 'trivy-java-db', tags: ['1'] }],
      destinations: [`${dst.host}/mirror`],
      vexUrl: await ctx.vexUrl(),
    });
    await flushDisks();
    const f = figuresOf(await trivyMirror(['sync', '--config', config, '--only', 'oci-sync'], timeoutMs));
    await assertManifest(dst.url, 'mirror/trivy-java-db', '1', up.artifact.manifestDigest);
    const store = join(dir, 'state', 'oci', 'trivy-java-db');
    f.storeFsyncMs = await timedFsync(layerBlob(store, up));
    await assertLayoutTag(store, '1', up.artifact.manifestDigest, up.artifact.layer);
    return f;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The layer blob's file in an OCI layout. */
const layerBlob = (layout: string, up: JavaDbUpstream) =>
  join(layout, 'blobs', ...up.artifact.layer.digest.split(':'));

/** Runs a peer with a fresh layout dir; checks the layout's tag and the destination's afterwards. */
async function withLayout(
  ctx: BenchContext,
  up: JavaDbUpstream,
  dst: RunningRegistry,
  run: (layoutDir: string) => Promise<RunFigures>,
): Promise<RunFigures> {
  const dir = await ctx.tempDir('layout');
  try {
    const f = await run(dir);
    await assertManifest(dst.url, 'mirror/trivy-java-db', '1', up.artifact.manifestDigest);
    f.storeFsyncMs ??= await timedFsync(layerBlob(join(dir, 'trivy-java-db'), up));
    await assertLayoutTag(join(dir, 'trivy-java-db'), '1', up.artifact.manifestDigest, up.artifact.layer);
    return f;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function regsyncRun(
  ctx: BenchContext,
  src: string,
  dir: string,
  dst: RunningRegistry,
  shape: RegsyncShape,
  timeoutMs: number,
): Promise<RunFigures> {
  const job = {
    source: src,
    layoutDir: dir,
    layoutRef: 'trivy-java-db:1',
    destination: `${dst.host}/mirror/trivy-java-db:1`,
  };
  return regsyncOnce(ctx, job, shape, timeoutMs);
}

/**
 * The two hops sync makes (upstream → OCI layout → destination) as two `skopeo copy` runs, summed; the
 * layout's layer is fsynced between them (timed apart), so hop 1's writeback stays out of hop 2.
 */
async function skopeoTwoHops(
  ctx: BenchContext,
  src: string,
  up: JavaDbUpstream,
  dir: string,
  dst: RunningRegistry,
  timeoutMs: number,
): Promise<RunFigures> {
  const layout = `oci:${dir}/trivy-java-db:1`;
  const a = figuresOf(await skopeoCopy(src, layout, timeoutMs));
  const storeFsyncMs = await timedFsync(layerBlob(join(dir, 'trivy-java-db'), up));
  const b = figuresOf(await skopeoCopy(layout, `${dst.host}/mirror/trivy-java-db:1`, timeoutMs));
  ctx.log(`skopeo two hops: ${formatSeconds(a.wallMs)} + ${formatSeconds(b.wallMs)}`);
  return { ...summed(a, b), storeFsyncMs };
}

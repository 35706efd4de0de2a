// copy: one ~1 GB single-layer artifact registry → registry by `trivy-mirror copy`, `crane copy`,
// `regctl image copy`, `oras cp` and `skopeo copy`, and the `curl GET | curl PUT` floor of its blob;
// each run into a fresh destination registry, the destination's manifest digest checked after each.
import type { Benchmark, BenchContext } from '../lib/bench-context.js';
import { cliBuilt, trivyMirror } from '../lib/daemon-cli.js';
import { formatBytes } from '../lib/format.js';
import { describeFailure } from '../lib/measure.js';
import { GO_COPY_PEERS, goPeerCopy } from '../lib/go-peers.js';
import { assertManifest, curlFloor, curlGet } from '../lib/registry-checks.js';
import { type Contender, figuresOf, rotatingRounds } from '../lib/rounds.js';
import { skopeoCopy } from '../lib/skopeo.js';
import { FLOOR, OURS, versusPeers } from '../lib/versus-peers.js';

const GOAL_FLOOR = 1.05;
const GOAL_RSS = 150e6;

export const copyBench: Benchmark = {
  name: 'copy',
  description: `trivy-mirror copy vs crane, regctl, oras and skopeo, registry → registry (goal: ahead of the fastest, ≤ ${GOAL_FLOOR}x the curl floor, RSS < ${GOAL_RSS / 1e6} MB)`,
  async run(ctx: BenchContext) {
    const up = await ctx.javaDbUpstream();
    const { layer, manifestDigest } = up.artifact;
    const src = `${up.registry.host}/${up.repository}:${up.tag}`;
    const blobUrl = `${up.registry.url}/v2/${up.repository}/blobs/${layer.digest}`;
    const timeoutMs = Math.max(120_000, (layer.size / 5e6) * 1000);
    const built = cliBuilt();

    // Same warm page cache for everyone: read the upstream blob once.
    const warm = await curlGet(blobUrl, timeoutMs);
    if (warm.exitCode !== 0) throw new Error(describeFailure(warm));

    const landed = async (dst: { url: string }) =>
      assertManifest(dst.url, 'mirror/trivy-java-db', '1', manifestDigest);
    const dstRef = (dst: { host: string }) => `${dst.host}/mirror/trivy-java-db:1`;
    const contenders: Contender[] = [];
    if (built) {
      contenders.push({
        name: OURS,
        run: async (dst) => {
          const f = figuresOf(await trivyMirror(['copy', '--quiet', src, dstRef(dst)], timeoutMs));
          await landed(dst);
          return f;
        },
      });
    }
    for (const peer of GO_COPY_PEERS.filter((p) => ctx.wantsPeer(p))) {
      contenders.push({
        name: peer,
        run: async (dst) => {
          const f = await goPeerCopy(ctx, peer, src, dstRef(dst), timeoutMs);
          await landed(dst);
          return f;
        },
      });
    }
    if (ctx.wantsPeer('skopeo')) {
      contenders.push({
        name: 'skopeo',
        run: async (dst) => {
          const f = figuresOf(await skopeoCopy(src, dstRef(dst), timeoutMs));
          await landed(dst);
          return f;
        },
      });
    }
    contenders.push({
      name: FLOOR,
      run: (dst) => curlFloor(blobUrl, dst, layer.digest, timeoutMs),
    });

    return versusPeers({
      name: 'copy',
      head: `copy      ${formatBytes(layer.size)}`,
      outcome: await rotatingRounds(ctx, contenders),
      built,
      goals: { floorRatio: GOAL_FLOOR, rssBytes: GOAL_RSS },
      metrics: { layerBytes: layer.size, runs: ctx.options.repeat },
    });
  },
};

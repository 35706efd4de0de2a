// The Go-built copy tools Trivy's self-hosting guide names, pinned in tools/scripts/go-peers.sh:
// `crane copy`, `regctl image copy` and `oras cp`, registry → registry over plain http. Each run gets
// its own HOME in the bench's temp dir, so no docker credentials or config of an earlier run are read.
import { goPeerBinary } from '@trivy-mirror/fixtures';
import type { BenchContext } from './bench-context.js';
import { describeFailure, runMeasured } from './measure.js';
import { figuresOf, type RunFigures } from './rounds.js';

export const GO_COPY_PEERS = ['crane', 'regctl', 'oras'] as const;
export type GoCopyPeer = (typeof GO_COPY_PEERS)[number];

/** 'HOST:PORT' of a 'HOST:PORT/REPO:TAG' reference. */
export const hostOf = (ref: string) => ref.slice(0, ref.indexOf('/'));

/** A fresh HOME for one peer run, with regctl told that `hosts` speak plain http. */
export async function peerHome(ctx: BenchContext, hosts: string[]): Promise<NodeJS.ProcessEnv> {
  const home = await ctx.tempDir('peer-home');
  const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: `${home}/.config` };
  for (const host of hosts) {
    const args = ['registry', 'set', '--skip-check', '--tls', 'disabled', host];
    const m = await runMeasured(goPeerBinary('regctl'), args, { env, timeoutMs: 30_000 });
    if (m.exitCode !== 0) throw new Error(describeFailure(m));
  }
  return env;
}

/** One `PEER copy SRC DST` (HOST:PORT/REPO:TAG references), measured; throws when it failed. */
export async function goPeerCopy(
  ctx: BenchContext,
  peer: GoCopyPeer,
  src: string,
  dst: string,
  timeoutMs: number,
): Promise<RunFigures> {
  // regctl's per-host tls setting is written before the clock starts
  const env = await peerHome(ctx, peer === 'regctl' ? [hostOf(src), hostOf(dst)] : []);
  const args: Record<GoCopyPeer, string[]> = {
    crane: ['copy', '--insecure', src, dst],
    regctl: ['image', 'copy', src, dst],
    oras: ['cp', '--no-tty', '--from-plain-http', '--to-plain-http', src, dst],
  };
  return figuresOf(await runMeasured(goPeerBinary(peer), args[peer], { env, timeoutMs }));
}

/** The Go peers whose `--help` start-up is compared. */
export const GO_PEERS_WITH_HELP = ['crane', 'oras', 'regctl', 'regsync'] as const;

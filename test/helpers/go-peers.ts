// crane, oras, regctl, regsync and cosign as processes, each with a home of its own (regctl keeps its registry
// settings there) and plain HTTP for the loopback registries of a test.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type GoPeer, goPeerBinary } from '@trivy-mirror/fixtures';

const run = promisify(execFile);

export interface PeerRun {
  stdout: Buffer;
  stderr: string;
}

export interface Peers {
  /** Runs a tool; rejects with its stderr. `env` adds to the peers' environment. */
  run(tool: GoPeer, args: string[], timeoutMs?: number, env?: Record<string, string>): Promise<PeerRun>;
  /** regctl learns that these hosts speak plain HTTP (its config lives in the peers' home). */
  plainHttp(...hosts: string[]): Promise<void>;
}

export async function goPeers(home: string): Promise<Peers> {
  await mkdir(join(home, 'tmp'), { recursive: true });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    TMPDIR: join(home, 'tmp'),
    DOCKER_CONFIG: join(home, '.docker'),
    // anything but loopback goes to a closed port
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '',
  };
  const peers: Peers = {
    async run(tool, args, timeoutMs = 120_000, extra = {}) {
      try {
        const r = await run(goPeerBinary(tool), args, {
          env: { ...env, ...extra },
          cwd: home,
          encoding: 'buffer',
          timeout: timeoutMs,
          maxBuffer: 64 * 1024 * 1024,
        });
        return { stdout: r.stdout, stderr: r.stderr.toString() };
      } catch (err) {
        const e = err as { stderr?: Buffer; message: string };
        throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr?.toString() || e.message}`);
      }
    },
    async plainHttp(...hosts) {
      for (const host of hosts) await peers.run('regctl', ['registry', 'set', '--tls', 'disabled', host]);
    },
  };
  return peers;
}

/** A regsync config that copies `repositories` from one plain-HTTP registry prefix to another. */
export async function regsyncConfig(
  file: string,
  from: { host: string; prefix: string },
  to: { host: string; prefix: string },
  repositories: string[],
): Promise<string> {
  const lines = [
    'version: 1',
    'creds:',
    `  - registry: ${from.host}`,
    '    tls: disabled',
    `  - registry: ${to.host}`,
    '    tls: disabled',
    'sync:',
  ];
  for (const repo of repositories) {
    lines.push(
      `  - source: ${from.host}${from.prefix ? `/${from.prefix}` : ''}/${repo}`,
      `    target: ${to.host}/${to.prefix}/${repo}`,
      '    type: repository',
    );
  }
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

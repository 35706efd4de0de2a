// Start-up figures of a trivy-mirror form (the executable or the node-run bin): wall time of `--help`
// and of `status` with no daemon answering, and the time from exec to the first 200 of /healthz of
// `run`. Each is the median of N runs: a shared 2-core machine moves single runs by tens of ms.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { freePort } from '@trivy-mirror/fixtures';
import type { CliForm } from './cli-form.js';
import { median } from './format.js';

export interface StartupFigures {
  /** medians, ms */
  helpMs: number;
  statusMs: number;
  healthzMs: number;
  /** Median wall time of each `others` command, by name. */
  othersMs: Map<string, number>;
}

/** Another program measured in the same rounds (a peer's `--help`, bare node). */
export interface OtherCommand {
  name: string;
  file: string;
  args: string[];
}

/** ms from spawning `file args` to its exit. */
export async function wallMs(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  const child = spawn(file, args, { stdio: 'ignore', env });
  const [code] = (await once(child, 'exit')) as [number | null];
  const ms = performance.now() - t0;
  // `status` exits 1 when no daemon answers; anything else (a crash, a signal) is not a start-up time
  if (code === null || code > 1) throw new Error(`${file} ${args.join(' ')} exited with ${code}`);
  return ms;
}

const healthy = (port: number) =>
  new Promise<boolean>((done) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on('error', () => done(false));
    req.end();
  });

/** ms from spawning `run` to the first 200 from /healthz, polled every 2 ms. */
async function healthzMs(cli: CliForm, dir: string, env: NodeJS.ProcessEnv): Promise<number> {
  const port = await freePort();
  const config = join(dir, 'config.yaml');
  await writeFile(config, `stateDir: ${join(dir, 'state')}\nadmin:\n  listen: 127.0.0.1:${port}\n`);
  const t0 = performance.now();
  const child = spawn(cli.file, [...cli.prefix, 'run', '--config', config], { stdio: 'ignore', env });
  let ms: number | undefined;
  while (ms === undefined && child.exitCode === null && performance.now() - t0 < 10_000) {
    if (await healthy(port)) ms = performance.now() - t0;
    else await new Promise((r) => setTimeout(r, 2));
  }
  child.kill('SIGTERM');
  if (child.exitCode === null) await once(child, 'exit');
  if (ms === undefined) throw new Error(`run --config ${config}: no 200 from /healthz within 10 s`);
  return ms;
}

/**
 * Medians of `runs` rounds of the three measurements and of `others`, interleaved so load hits them
 * all alike.
 */
export async function measureStartup(
  cli: CliForm,
  dir: string,
  runs: number,
  others: OtherCommand[] = [],
): Promise<StartupFigures> {
  // no config file: status reads the default address, where nothing answers (port 9, discard)
  const env: NodeJS.ProcessEnv = { ...process.env, TRIVY_MIRROR_ADMIN_LISTEN: '127.0.0.1:9', NO_COLOR: '1' };
  delete env.TRIVY_MIRROR_CONFIG;
  const runEnv = { ...process.env, TRIVY_MIRROR_LOG_LEVEL: 'error' };
  const help: number[] = [];
  const status: number[] = [];
  const health: number[] = [];
  const other = new Map<string, number[]>(others.map((o) => [o.name, []]));
  for (let i = 0; i < runs; i++) {
    help.push(await wallMs(cli.file, [...cli.prefix, '--help'], env));
    status.push(await wallMs(cli.file, [...cli.prefix, 'status'], env));
    health.push(await healthzMs(cli, dir, runEnv));
    for (const o of others) other.get(o.name)?.push(await wallMs(o.file, o.args, env));
  }
  return {
    helpMs: median(help),
    statusMs: median(status),
    healthzMs: median(health),
    othersMs: new Map([...other].map(([name, list]) => [name, median(list)])),
  };
}

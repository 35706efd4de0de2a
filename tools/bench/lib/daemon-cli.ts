// Drives the built trivy-mirror CLI (apps/daemon/bin/trivy-mirror.js): measured one-shot commands,
// config files for sync/run, and a long-running `run` process whose readiness and usage we can read.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { cliForm } from './cli-form.js';
import { type Measurement, runMeasured } from './measure.js';
import { readCpu, readMemory } from './proc-stats.js';
import { TreeSampler } from './tree-sampler.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI_MAIN = fileURLToPath(new URL('../../../apps/daemon/dist/main.js', import.meta.url));

const SYSTEMD_UNIT = fileURLToPath(new URL('../../../deploy/systemd/trivy-mirror.service', import.meta.url));

/**
 * The process environment the shipped systemd unit gives the daemon (its `Environment=` lines, less
 * the config path, which --config replaces), so `run` is measured the way it is deployed.
 */
export function unitEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(SYSTEMD_UNIT, 'utf8').split('\n')) {
    const m = /^Environment=([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m && m[1] !== 'TRIVY_MIRROR_CONFIG') env[m[1]] = m[2];
  }
  return env;
}

/** True once `npm run build` has produced the daemon app. */
export function cliBuilt(): boolean {
  return existsSync(CLI_MAIN);
}

/** `trivy-mirror ARGS…`, measured (the executable, or node running the bin: no npx, no shell in between). */
export function trivyMirror(args: string[], timeoutMs: number): Promise<Measurement> {
  const cli = cliForm();
  return runMeasured(cli.file, [...cli.prefix, ...args], {
    timeoutMs,
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1' },
  });
}

export interface DaemonConfigOptions {
  stateDir: string;
  adminPort: number;
  servePort?: number;
  /** e.g. ['127.0.0.1:5001/aquasec'] */
  sources: string[];
  artifacts: { name: string; tags: string[] }[];
  destinations?: string[];
  /** Cache dirs kept by cache-populator (none by default). */
  cacheTargets?: { dir: string; include?: string[] }[];
  /** A local VEX repository (spec kind) for vexhub-mirror, e.g. 'http://127.0.0.1:PORT'. */
  vexUrl: string;
  logLevel?: string;
}

/** Writes a daemon config (JSON, which is valid YAML) and returns its path. */
export async function writeDaemonConfig(path: string, o: DaemonConfigOptions): Promise<string> {
  const config = {
    stateDir: o.stateDir,
    admin: { listen: `127.0.0.1:${o.adminPort}` },
    ...(o.servePort
      ? { serve: { listen: `127.0.0.1:${o.servePort}`, publicUrl: `http://127.0.0.1:${o.servePort}` } }
      : {}),
    log: { level: o.logLevel ?? 'warn', format: 'json' },
    plugins: {
      'oci-sync': {
        sources: o.sources,
        artifacts: o.artifacts,
        destinations: o.destinations ?? [],
      },
      'cache-populator': { targets: o.cacheTargets ?? [] },
      // vexhub-mirror needs at least one repository; a local one keeps the run offline.
      'vexhub-mirror': {
        repositories: [{ name: 'vexhub', url: o.vexUrl }],
        // Without a serve listener it still needs a base URL to write into the mirrored manifest.
        ...(o.servePort ? {} : { publishBaseUrl: 'http://127.0.0.1:9' }),
      },
    },
  };
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

export interface RunningDaemon {
  pid: number;
  adminUrl: string;
  /** Tree memory/CPU sampler running since start. */
  sampler: TreeSampler;
  stderrTail(): string;
  /** CPU time (user + system) of the daemon process now, ms. */
  cpuMs(): Promise<number>;
  /** RSS of the daemon process now, bytes. */
  rss(): Promise<number>;
  exited(): boolean;
  stop(): Promise<void>;
}

/** Starts `trivy-mirror run --config FILE` with the systemd unit's environment and waits until /readyz answers 200. */
export async function startDaemon(
  configPath: string,
  adminPort: number,
  readyTimeoutMs: number,
): Promise<RunningDaemon> {
  const cli = cliForm();
  const child: ChildProcess = spawn(cli.file, [...cli.prefix, 'run', '--config', configPath], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...unitEnvironment(), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start trivy-mirror run');
  let tail = '';
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exitInfo: string | undefined;
  child.on('exit', (code, signal) => {
    exitInfo = `exited ${code ?? signal}`;
  });
  const sampler = new TreeSampler(pid).start();
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const stop = async () => {
    await sampler.stop();
    if (exitInfo !== undefined) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, 10_000);
    await gone;
    clearTimeout(timer);
  };

  const deadline = Date.now() + readyTimeoutMs;
  let last = '';
  while (true) {
    if (exitInfo !== undefined) {
      await stop();
      throw new Error(`trivy-mirror run ${exitInfo} before it was ready: ${tail.trim().slice(-2000)}`);
    }
    try {
      const res = await fetch(`${adminUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
      last = `${res.status} ${(await res.text()).slice(0, 300)}`;
      if (res.status === 200) break;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `trivy-mirror run was not ready within ${readyTimeoutMs / 1000} s (last /readyz: ${last}): ${tail.trim().slice(-2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    pid,
    adminUrl,
    sampler,
    stderrTail: () => tail,
    cpuMs: async () => (await readCpu(pid))?.selfMs ?? 0,
    rss: async () => (await readMemory(pid))?.rss ?? 0,
    exited: () => exitInfo !== undefined,
    stop,
  };
}

/**
 * Waits until the daemon uses less than `maxCpuPercent` of one core over a 1 s window (start-up jobs
 * done), at most `maxMs`. Returns how long it waited.
 */
export async function waitUntilQuiet(
  daemon: RunningDaemon,
  maxMs: number,
  maxCpuPercent = 5,
): Promise<number> {
  const started = Date.now();
  let before = await daemon.cpuMs();
  while (Date.now() - started < maxMs && !daemon.exited()) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await daemon.cpuMs();
    if (((now - before) / 1000) * 100 < maxCpuPercent) break;
    before = now;
  }
  return Date.now() - started;
}

// Starts the real built daemon (apps/daemon/bin/trivy-mirror.js) as a child process, the way an
// operator does, and waits until it answers. Logs (pino JSON lines) are kept for assertions.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const daemonBin = fileURLToPath(new URL('../../apps/daemon/bin/trivy-mirror.js', import.meta.url));

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

export interface DaemonProcess {
  child: ChildProcess;
  adminUrl: string;
  stdout(): string;
  stderr(): string;
  /** Parsed JSON log lines. */
  logs(): Record<string, unknown>[];
  /** Resolves with the first log line matching `pred`. */
  waitForLog(
    pred: (l: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** SIGTERM (or another signal); resolves with the exit code and how long it took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  args: string[];
  env?: Record<string, string>;
  adminUrl?: string;
  /** Wait for /healthz (default true). */
  waitHealthy?: boolean;
  cwd?: string;
  /** An executable to run instead of `node apps/daemon/bin/trivy-mirror.js` (the packaged one). */
  bin?: string;
}

/** The command line for `args`: the node-run CLI, or `bin`. */
function command(args: string[], bin?: string): [string, string[]] {
  return bin ? [bin, args] : [process.execPath, [daemonBin, ...args]];
}

/** Runs the CLI once to completion. */
export async function runCli(
  args: string[],
  options: {
    env?: Record<string, string>;
    cwd?: string;
    timeoutMs?: number;
    input?: string;
    bin?: string;
  } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(...command(args, options.bin), {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export async function startDaemon(options: StartOptions): Promise<DaemonProcess> {
  const child = spawn(...command(options.args, options.bin), {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) watchOrphan(child.pid);
  let out = '';
  let err = '';
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d;
    partial += d;
    let i = partial.indexOf('\n');
    while (i >= 0) {
      const line = partial.slice(0, i);
      partial = partial.slice(i + 1);
      try {
        const obj = JSON.parse(line) as Record<string, unknown>;
        lines.push(obj);
        for (const w of [...waiters]) {
          if (w.pred(obj)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(obj);
          }
        }
      } catch {
        // not JSON: kept in stdout()
      }
      i = partial.indexOf('\n');
    }
  });
  child.stderr!.on('data', (d) => (err += d));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const proc: DaemonProcess = {
    child,
    adminUrl: options.adminUrl ?? '',
    stdout: () => out,
    stderr: () => err,
    logs: () => lines,
    exited,
    waitForLog(pred, timeoutMs = 30_000) {
      const found = lines.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${err.slice(-2000)}`)),
          timeoutMs,
        );
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      const t0 = Date.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const r = await exited;
      clearTimeout(killer);
      return { ...r, ms: Date.now() - t0 };
    },
  };
  if (options.waitHealthy !== false && options.adminUrl) {
    await waitForRuntime(options.adminUrl, 15_000, exited, () => `${err}${out.slice(-3000)}`);
  }
  return proc;
}

/**
 * Polls `url` every 50 ms until `ready(response)` says so; fails at once when `exited` settles (the
 * process died) and after `timeoutMs` otherwise. `what` names the URL in the timeout error.
 * Returns how long it took.
 */
async function pollUntilReady(
  url: string,
  timeoutMs: number,
  ready: (res: Response) => Promise<boolean>,
  what: string,
  exited?: Promise<unknown>,
  stderr?: () => string,
): Promise<number> {
  const t0 = Date.now();
  let dead = false;
  exited?.then(() => {
    dead = true;
  });
  while (Date.now() - t0 < timeoutMs) {
    if (dead) throw new Error(`daemon exited before ${url} answered: ${stderr?.().slice(-3000)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (await ready(res)) return Date.now() - t0;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not answer within ${timeoutMs} ms`);
}

/**
 * Waits until the runtime's own admin listener answers /healthz. While the app loads, `run` answers
 * /healthz from a stand-in listener (phase "starting") that has no /status or /metrics yet.
 */
export async function waitForRuntime(
  adminUrl: string,
  timeoutMs: number,
  exited?: Promise<unknown>,
  stderr?: () => string,
): Promise<number> {
  const url = `${adminUrl}/healthz`;
  const ready = async (res: Response) => {
    const body = await res.text();
    return res.status === 200 && !body.includes('"starting"');
  };
  return pollUntilReady(url, timeoutMs, ready, `${url} (runtime)`, exited, stderr);
}

/** Waits until `url` answers at all (any status). */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  exited?: Promise<unknown>,
  stderr?: () => string,
): Promise<number> {
  const ready = async (res: Response) => {
    await res.arrayBuffer();
    return true;
  };
  return pollUntilReady(url, timeoutMs, ready, url, exited, stderr);
}

/** Polls `fn` until it returns a truthy value. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  while (Date.now() - t0 < timeoutMs) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/**
 * A test file killed by the runner's timeout never reaches its after() hooks: a watchdog (a shell
 * loop outside this process) kills the daemon once this process is gone. It ends with the daemon.
 */
function watchOrphan(pid: number): void {
  const script =
    'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null';
  spawn('sh', ['-c', script, 'daemon-watchdog', String(process.pid), String(pid)], {
    detached: true,
    stdio: 'ignore',
  }).unref();
}

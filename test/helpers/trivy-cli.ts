// The real Trivy client, as a process (the binary: @trivy-mirror/fixtures trivyBinary). A missing binary
// fails the test with the command that installs it; nothing is skipped. Every run gets a home of its own and a dead proxy for
// anything but loopback, so a scan can neither read the user's Trivy cache nor reach the internet.
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type TrivyGeneration, trivyBinary } from '@trivy-mirror/fixtures';

export { TRIVY_VERSIONS, type TrivyGeneration, trivyBinary } from '@trivy-mirror/fixtures';

export interface TrivyRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface TrivyRunOptions {
  /** The scanning host's home: HOME, XDG_CACHE_HOME and XDG_DATA_HOME live under it. */
  home: string;
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  generation?: TrivyGeneration;
}

/** The environment a run gets: its own home, XDG dirs, no telemetry, a dead proxy for non-loopback hosts. */
export function trivyEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    TMPDIR: join(home, 'tmp'),
    // Go never proxies loopback; anything else goes to a closed port and fails at once.
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '',
    TRIVY_SKIP_VERSION_CHECK: 'true',
    TRIVY_DISABLE_TELEMETRY: 'true',
    TRIVY_NO_PROGRESS: 'true',
    ...extra,
  };
}

export async function runTrivy(args: string[], options: TrivyRunOptions): Promise<TrivyRun> {
  const bin = trivyBinary(options.generation ?? 'current');
  const env = trivyEnv(options.home, options.env);
  await mkdir(env.TMPDIR as string, { recursive: true });
  const child = spawn(bin.path, args, { cwd: options.cwd ?? options.home, env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** The parts of Trivy's JSON report the suites assert on. */
export interface TrivyReport {
  Results?: {
    Target: string;
    Vulnerabilities?: {
      VulnerabilityID: string;
      PkgName: string;
      InstalledVersion: string;
      Severity: string;
    }[];
    Misconfigurations?: { ID: string; AVDID?: string; Status: string }[];
    Packages?: { Name: string; Version: string; FilePath?: string }[];
  }[];
}

/** Runs a scan whose stdout is a JSON report; a non-zero exit fails with Trivy's own words. */
export async function scanJson(
  args: string[],
  options: TrivyRunOptions,
): Promise<TrivyReport & { run: TrivyRun }> {
  const run = await runTrivy([...args, '--format', 'json'], options);
  if (run.code !== 0)
    throw new Error(`trivy ${args.join(' ')} exited ${run.code}:\n${run.stderr.slice(-4000)}`);
  try {
    return { ...(JSON.parse(run.stdout) as TrivyReport), run };
  } catch (err) {
    throw new Error(`trivy ${args.join(' ')} printed no JSON report: ${run.stdout.slice(0, 500)}`, {
      cause: err,
    });
  }
}

export function vulnerabilityIds(report: TrivyReport): string[] {
  return [
    ...new Set(
      (report.Results ?? []).flatMap((r) => (r.Vulnerabilities ?? []).map((v) => v.VulnerabilityID)),
    ),
  ].sort();
}

export function misconfigurationIds(report: TrivyReport): string[] {
  return [
    ...new Set(
      (report.Results ?? []).flatMap((r) =>
        (r.Misconfigurations ?? [])
          .filter((m) => m.Status === 'FAIL')
          .flatMap((m) => [m.ID, m.AVDID ?? m.ID]),
      ),
    ),
  ].sort();
}

export interface TrivyProcess {
  output(): string;
  stop(): Promise<void>;
}

/** A long-running Trivy (`trivy server`), stopped by SIGTERM; its output kept for messages. */
export async function startTrivy(args: string[], options: TrivyRunOptions): Promise<TrivyProcess> {
  const bin = trivyBinary(options.generation ?? 'current');
  const env = trivyEnv(options.home, options.env);
  await mkdir(env.TMPDIR as string, { recursive: true });
  const child = spawn(bin.path, args, { cwd: options.home, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// Runs one command to completion and measures it: wall time (hrtime around spawn → exit), peak RSS
// (the larger of /usr/bin/time's %M and the polled process-tree sum) and CPU time (user + system).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TreeSampler } from './tree-sampler.js';

const TIME_BIN = '/usr/bin/time';
export const hasGnuTime = existsSync(TIME_BIN);

export interface MeasureOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Killed (process group, SIGKILL) after this long; the result then has `timedOut`. */
  timeoutMs?: number;
  /** Text written to stdin (then closed). */
  input?: string;
}

export interface Measurement {
  command: string;
  wallMs: number;
  /** Peak RSS of the command's process tree, bytes. */
  peakRssBytes: number;
  /** User + system CPU time, ms. */
  cpuMs: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Last 8 KB of each stream. */
  stdout: string;
  stderr: string;
  /** How peak RSS and CPU were obtained. */
  method: 'gnu-time+proc' | 'proc';
}

const TAIL = 8192;

/** Runs `command args…`, measured. Never throws for a non-zero exit: check `exitCode`. */
export async function runMeasured(
  command: string,
  args: string[],
  options: MeasureOptions = {},
): Promise<Measurement> {
  const workDir = hasGnuTime ? await mkdtemp(join(tmpdir(), 'trivy-mirror-bench-time-')) : undefined;
  const timeFile = workDir ? join(workDir, 'time.txt') : undefined;
  const argv = timeFile ? ['-q', '-f', '%e %M %U %S', '-o', timeFile, command, ...args] : args;
  const bin = timeFile ? TIME_BIN : command;
  const started = process.hrtime.bigint();
  // Own process group, so a timeout can kill a whole pipeline.
  const child = spawn(bin, argv, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout = (stdout + d.toString()).slice(-TAIL);
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-TAIL);
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');

  const sampler = child.pid ? new TreeSampler(child.pid, { excludeRoot: hasGnuTime }).start() : undefined;
  let timedOut = false;
  const timer =
    options.timeoutMs && child.pid
      ? setTimeout(() => {
          timedOut = true;
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }, options.timeoutMs)
      : undefined;

  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve({ code: c, signal: s }));
    },
  );
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (timer) clearTimeout(timer);
  const polled = sampler ? await sampler.stop() : undefined;

  let timeRss = 0;
  let timeCpuMs: number | undefined;
  if (timeFile) {
    const text = await readFile(timeFile, 'utf8').catch(() => '');
    // The last line is ours; earlier lines are "Command exited with non-zero status N".
    const last = text.trim().split('\n').pop() ?? '';
    const [, maxKb, user, sys] = last.split(' ').map(Number);
    if (Number.isFinite(maxKb)) timeRss = maxKb * 1024;
    if (Number.isFinite(user) && Number.isFinite(sys)) timeCpuMs = (user + sys) * 1000;
  }
  if (workDir) await rm(workDir, { recursive: true, force: true });
  // /usr/bin/time exits 128+N when its child died of signal N.
  const exitCode = hasGnuTime && code !== null && code > 128 ? null : code;
  return {
    command: [command, ...args].join(' '),
    wallMs,
    peakRssBytes: Math.max(timeRss, polled?.peakTreeRss ?? 0, polled?.peakProcessHwm ?? 0),
    cpuMs: timeCpuMs ?? polled?.cpuMs ?? 0,
    exitCode,
    signal,
    timedOut,
    stdout,
    stderr,
    method: hasGnuTime ? 'gnu-time+proc' : 'proc',
  };
}

/** A one-line description of a failed run, with the end of its stderr. */
export function describeFailure(m: Measurement): string {
  const how = m.timedOut
    ? 'timed out'
    : m.exitCode === null
      ? `was killed (${m.signal ?? 'signal'})`
      : `exited ${m.exitCode}`;
  const err = m.stderr.trim() || m.stdout.trim();
  return `\`${m.command}\` ${how}${err ? `: ${err.slice(-2000)}` : ''}`;
}

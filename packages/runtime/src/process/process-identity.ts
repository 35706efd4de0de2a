// Tells a process apart from a later one with the same pid: after a reboot or a container restart,
// pids start over and a lock's pid may name some other live process. Linux: the boot id and the
// process's start time (in clock ticks since boot, /proc/PID/stat field 22). Elsewhere: undefined.
import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  /** /proc/sys/kernel/random/boot_id: changes on every boot. */
  boot?: string;
  /** Start time of the process in clock ticks since boot. */
  start?: string;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function bootId(): string | undefined {
  return read('/proc/sys/kernel/random/boot_id') || undefined;
}

/** Start time of `pid` in clock ticks since boot; undefined when unknown (no /proc, no such pid). */
export function processStart(pid: number): string | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // "PID (COMM) STATE ...": COMM may hold spaces and parentheses; fields resume after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[19];
  return start && /^\d+$/.test(start) ? start : undefined;
}

export function ownIdentity(): ProcessIdentity {
  return { boot: bootId(), start: processStart(process.pid) };
}

/**
 * False when `pid` (alive) is certainly not the process that wrote `recorded`: another boot, or a
 * different start time. True when it is, or when it cannot be told (an old lock, no /proc).
 */
export function sameProcess(pid: number, recorded: ProcessIdentity): boolean {
  const boot = bootId();
  if (recorded.boot && boot && recorded.boot !== boot) return false;
  const start = processStart(pid);
  if (recorded.start && start && recorded.start !== start) return false;
  return true;
}

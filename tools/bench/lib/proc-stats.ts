// Reads memory and CPU figures of a process (tree) from /proc: VmRSS/VmHWM from status, utime and
// stime from stat. Linux only; every reader returns undefined once the process is gone.
import { readdir, readFile } from 'node:fs/promises';

/** Clock ticks per second for /proc/<pid>/stat (sysconf(_SC_CLK_TCK), 100 on Linux). */
export const CLOCK_TICKS = 100;

export interface ProcMemory {
  /** Resident set size now, bytes. */
  rss: number;
  /** Peak resident set size since the process started (VmHWM), bytes. */
  hwm: number;
  /**
   * The two parts of rss: anonymous memory (heap, stacks, buffers) and file-backed pages (mostly the
   * node binary's code and ICU data, clean and shared; how many are mapped also depends on how much of
   * the binary the page cache holds, since the kernel maps cached neighbours of a faulting page).
   */
  anon: number;
  file: number;
}

export async function readMemory(pid: number): Promise<ProcMemory | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
}

export interface ProcCpu {
  /** utime + stime of the process itself, ms. */
  selfMs: number;
  /** cutime + cstime: children it has already waited for, ms. */
  childrenMs: number;
  ppid: number;
}

export async function readCpu(pid: number): Promise<ProcCpu | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14 → index 11.
  const tick = 1000 / CLOCK_TICKS;
  return {
    ppid: Number(fields[1]),
    selfMs: (Number(fields[11]) + Number(fields[12])) * tick,
    childrenMs: (Number(fields[13]) + Number(fields[14])) * tick,
  };
}

/** Direct children of `pid` (all threads), from /proc/<pid>/task/<tid>/children. */
export async function childrenOf(pid: number): Promise<number[]> {
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    try {
      const text = await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8');
      for (const part of text.trim().split(/\s+/)) if (part) out.push(Number(part));
    } catch {
      // thread gone, or a kernel without CONFIG_PROC_CHILDREN: callers still see the root
    }
  }
  return out;
}

/** `pid` and all its descendants (bounded: at most 256 processes). */
export async function processTree(pid: number): Promise<number[]> {
  const seen: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && seen.length < 256) {
    const next = queue.shift()!;
    if (seen.includes(next)) continue;
    seen.push(next);
    queue.push(...(await childrenOf(next)));
  }
  return seen;
}

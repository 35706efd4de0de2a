// Polls a process tree every 50 ms and keeps its peak memory and the CPU time it has used, so a
// benchmark can report "peak RSS" for tools that fork (sh pipelines) as well as for one process.
import { processTree, readCpu, readMemory } from './proc-stats.js';

export interface TreeSample {
  /** Highest sum of VmRSS over the tree seen at one poll, bytes. */
  peakTreeRss: number;
  /** Highest VmHWM of any single process of the tree, bytes (catches peaks between polls). */
  peakProcessHwm: number;
  /** CPU time (user + system) of the tree's processes as last seen, ms. */
  cpuMs: number;
  /** RSS sum at the last poll, bytes. */
  lastTreeRss: number;
  polls: number;
}

export interface TreeSamplerOptions {
  intervalMs?: number;
  /** Leave the root out (e.g. when it is only a /usr/bin/time wrapper). */
  excludeRoot?: boolean;
}

export class TreeSampler {
  private readonly cpuByPid = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly sample: TreeSample = {
    peakTreeRss: 0,
    peakProcessHwm: 0,
    cpuMs: 0,
    lastTreeRss: 0,
    polls: 0,
  };

  constructor(
    private readonly rootPid: number,
    private readonly options: TreeSamplerOptions = {},
  ) {}

  start(): this {
    const interval = this.options.intervalMs ?? 50;
    const tick = () => {
      this.running = this.poll().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, interval);
      });
    };
    this.timer = setTimeout(tick, 0);
    return this;
  }

  /** One poll now (also used by `stop`, so a short-lived process gets at least one sample). */
  async poll(): Promise<void> {
    let pids = await processTree(this.rootPid);
    if (this.options.excludeRoot) pids = pids.filter((p) => p !== this.rootPid);
    let sum = 0;
    for (const pid of pids) {
      const mem = await readMemory(pid);
      const cpu = await readCpu(pid);
      if (mem) {
        sum += mem.rss;
        if (mem.hwm > this.sample.peakProcessHwm) this.sample.peakProcessHwm = mem.hwm;
      }
      if (cpu) this.cpuByPid.set(pid, cpu.selfMs);
    }
    this.sample.lastTreeRss = sum;
    if (sum > this.sample.peakTreeRss) this.sample.peakTreeRss = sum;
    this.sample.cpuMs = [...this.cpuByPid.values()].reduce((a, b) => a + b, 0);
    this.sample.polls += 1;
  }

  /** Current figures, without stopping. */
  snapshot(): TreeSample {
    return { ...this.sample };
  }

  async stop(): Promise<TreeSample> {
    const timer = this.timer;
    this.timer = undefined;
    if (timer) clearTimeout(timer);
    await this.running;
    return this.snapshot();
  }
}

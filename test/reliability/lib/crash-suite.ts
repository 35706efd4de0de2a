// Crash runs: the built daemon is killed with SIGKILL at a seeded random moment or at a targeted one
// (mid-download of a layer, mid-push to the destination, during cache population, during VEX
// publication), checked as the crash left it, restarted, and checked again once it has caught up.
import { createRng, type FaultFn } from '@trivy-mirror/fixtures';
import type { SuiteReport } from './report.js';
import type { World } from './world.js';

export const CRASH_POINTS = [
  'upstream-layer',
  'destination-push',
  'cache-populate',
  'vex-publish',
  'random',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

export interface CrashRunOptions {
  runs: number;
  onRun?: (i: number, line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function crashRuns(world: World, report: SuiteReport, options: CrashRunOptions): Promise<void> {
  const rng = createRng(`${report.seed}:${report.name}`);
  for (let i = 0; i < options.runs; i++) {
    const point = CRASH_POINTS[i % CRASH_POINTS.length];
    const jitter = rng();
    const runSeed = `${report.seed}:${report.name}:${i}`;
    await world.publish(i % 4 === 3 ? ['trivy-db', 'trivy-java-db'] : ['trivy-db']);
    if (point === 'vex-publish' || point === 'random') await world.publishVex(100 + i);

    // Arm the target: a slow answer keeps the operation in progress while the kill lands.
    let hit: () => void = () => {};
    const reached = new Promise<void>((r) => {
      hit = r;
    });
    const slowOnce =
      (match: (method: string, path: string) => boolean): FaultFn =>
      (req) => {
        if (!match(req.method ?? '', req.url ?? '')) return undefined;
        hit();
        return { kind: 'slow', chunkBytes: 4096, chunkDelayMs: 5 };
      };
    if (point === 'upstream-layer')
      world.setFaults({ up: slowOnce((m, p) => m === 'GET' && p.includes('/blobs/sha256:')) });
    else if (point === 'destination-push')
      world.setFaults({
        dst: (req) => {
          if (!/^(PUT|PATCH)$/.test(req.method ?? '')) return undefined;
          hit();
          return { kind: 'delay', ms: 300 };
        },
      });
    else if (point === 'vex-publish')
      world.setFaults({ vex: slowOnce((m, p) => m === 'GET' && p.includes('/archives/')) });

    const d = await world.startDaemon();
    let note = '';
    try {
      if (point === 'cache-populate') {
        await d.waitForLog((l) => l.msg === 'stored new version', 30_000);
        await sleep(Math.floor(jitter * 80));
      } else if (point === 'random') {
        await sleep(Math.floor(jitter * 1500));
      } else {
        // a cleared timer: no stray rejection or pending timeout once the point is reached
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          reached,
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('crash point not reached')), 20_000);
          }),
        ]).finally(() => clearTimeout(timer));
        await sleep(Math.floor(jitter * (point === 'destination-push' ? 250 : 150)));
      }
    } catch (err) {
      note = ` (${(err as Error).message})`;
      report.count('crash point not reached');
    }
    await world.stopDaemon('SIGKILL');
    world.clearFaults();
    report.runs++;
    report.faults++;
    report.count(`kill at ${point}`);

    // As the crash left it: no torn blob, no dangling manifest, every cache part whole.
    const atCrash = await world.invariants();
    for (const v of atCrash) report.violation(i, `after kill at ${point}: ${v} (seed ${runSeed})`);

    // Restart: the daemon must clean up and catch up by itself.
    const r = await world.startDaemon();
    const sync = await world.waitJobFinished('oci-sync', 60_000);
    const vex = await world.waitJobFinished('vexhub-mirror', 60_000);
    await world.idle();
    const converged = sync.status !== 'failure' && (await world.converged());
    if (converged && vex.status !== 'failure') report.recoveries++;
    else
      report.violation(
        i,
        `no recovery after restart from a kill at ${point} (seed ${runSeed}): oci-sync ${sync.status} ${sync.summary ?? ''}; vex ${vex.status} ${vex.summary ?? ''}`,
      );
    const afterRestart = await world.invariants({ temp: true, logs: r.logs(), adminUrl: world.adminUrl });
    for (const v of afterRestart) report.violation(i, `after restart from ${point}: ${v} (seed ${runSeed})`);
    await world.stopDaemon('SIGTERM');
    options.onRun?.(
      i,
      `run ${i}: kill at ${point}${note}, restart sync=${sync.status} vex=${vex.status}, violations=${atCrash.length + afterRestart.length}`,
    );
  }
}

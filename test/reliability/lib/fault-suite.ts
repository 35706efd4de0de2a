// Seeded fault runs against one daemon: each run publishes new upstream versions, arms a random fault
// plan on every proxy (upstream registry, destination registry, VEX server), runs the sync jobs, disarms
// the faults and checks the invariants. A pass that failed must converge after one clean pass.
import { randomFaultPlan } from '@trivy-mirror/fixtures';
import type { SuiteReport } from './report.js';
import type { World } from './world.js';

export interface FaultRunOptions {
  runs: number;
  /** Probability that a request gets a fault. */
  rate: number;
  /** Publish a new VEX archive (and run vexhub-mirror) every N runs (0 = never). */
  vexEvery?: number;
  /** Called after each run (progress). */
  onRun?: (i: number, line: string) => void;
}

export async function faultRuns(world: World, report: SuiteReport, options: FaultRunOptions): Promise<void> {
  for (let i = 0; i < options.runs; i++) {
    const runSeed = `${report.seed}:${report.name}:${i}`;
    const kinds: ('trivy-db' | 'trivy-java-db' | 'trivy-checks')[] = ['trivy-db'];
    if (i % 7 === 3) kinds.push('trivy-java-db');
    if (i % 7 === 5) kinds.push('trivy-checks');
    await world.publish(kinds);
    const vexRun = !!options.vexEvery && i % options.vexEvery === options.vexEvery - 1;
    if (vexRun) await world.publishVex(i);

    const plans = {
      up: randomFaultPlan({ seed: `${runSeed}:up`, rate: options.rate }),
      dst: randomFaultPlan({ seed: `${runSeed}:dst`, rate: options.rate }),
      vex: randomFaultPlan({ seed: `${runSeed}:vex`, rate: options.rate }),
    };
    const daemon = world.requireDaemon();
    const logStart = daemon.logs().length;
    world.setFaults({ up: plans.up.fault, dst: plans.dst.fault, vex: plans.vex.fault });
    let sync: Awaited<ReturnType<World['runJob']>>;
    let vex: Awaited<ReturnType<World['runJob']>> | undefined;
    try {
      [sync, vex] = await Promise.all([
        world.runJob('oci-sync'),
        vexRun ? world.runJob('vexhub-mirror') : Promise.resolve(undefined),
      ]);
    } catch (err) {
      // a pass that never ends is the worst outcome: record it with its seed and stop here
      report.violation(i, `${(err as Error).message} (seed ${runSeed})`);
      throw new Error(`run ${i} (seed ${runSeed}) hung: ${(err as Error).message}`);
    } finally {
      world.clearFaults();
    }
    const injected = plans.up.total() + plans.dst.total() + plans.vex.total();
    report.runs++;
    report.faults += injected;
    for (const [k, v] of Object.entries(plans.up.counts)) report.count(`fault ${k} (upstream)`, v);
    for (const [k, v] of Object.entries(plans.dst.counts)) report.count(`fault ${k} (destination)`, v);
    for (const [k, v] of Object.entries(plans.vex.counts)) report.count(`fault ${k} (vex)`, v);
    await world.idle();

    let converged = sync.status !== 'failure' && (await world.converged());
    const vexOk = vex?.status !== 'failure';
    if (converged && vexOk) {
      if (injected > 0) {
        report.recoveries++;
        report.count('recovered within the pass');
      }
    } else {
      report.count('passes failed under faults');
      const again = await world.runJob('oci-sync');
      const vexAgain = vexOk ? undefined : await world.runJob('vexhub-mirror');
      await world.idle();
      converged = again.status !== 'failure' && (await world.converged());
      if (converged && vexAgain?.status !== 'failure') {
        report.recoveries++;
        report.count('recovered by the next clean pass');
      } else {
        report.violation(
          i,
          `no recovery after a clean pass (seed ${runSeed}): oci-sync ${again.status} ${again.summary ?? ''}; vex ${vexAgain?.status ?? '-'} ${vexAgain?.summary ?? ''}`,
        );
      }
    }
    const violations = await world.invariants({
      logs: daemon.logs().slice(logStart),
      adminUrl: world.adminUrl,
    });
    for (const v of violations) report.violation(i, `${v} (seed ${runSeed})`);
    options.onRun?.(
      i,
      `run ${i}: faults=${injected} sync=${sync.status} ${vex ? `vex=${vex.status} ` : ''}violations=${violations.length}`,
    );
  }
}

/** Stops the daemon, starts it again and checks everything, temp leftovers included. */
export async function restartAndCheck(world: World, report: SuiteReport, label: string): Promise<void> {
  await world.stopDaemon('SIGTERM');
  const d = await world.startDaemon();
  await world.waitJobFinished('oci-sync', 60_000);
  await world.idle();
  const violations = await world.invariants({ temp: true, logs: d.logs(), adminUrl: world.adminUrl });
  for (const v of violations) report.violation(label, v);
}

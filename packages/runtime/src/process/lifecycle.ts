// Lifecycle phases (drive readiness) and the plugins' start/stop hooks: start failures are wrapped with
// the contribution's name and cause and thrown together; stop hooks run in parallel under a deadline.
import {
  describeError,
  type LifecycleContribution,
  type Logger,
  PluginError,
} from '@trivy-mirror/plugin-api';

export type Phase = 'created' | 'starting' | 'running' | 'reloading' | 'stopping' | 'stopped';

/** Start hooks that failed, in one error (the daemon prints it and exits non-zero). */
export class StartupError extends PluginError {
  readonly errors: PluginError[];
  constructor(errors: PluginError[]) {
    super(
      errors.map((e) => e.plugin).join(', '),
      `start-up failed:\n${errors.map((e) => `  - ${e.message}`).join('\n')}`,
      errors.length === 1 ? errors[0] : new AggregateError(errors),
    );
    this.name = 'StartupError';
    this.errors = errors;
  }
}

/** Runs every start hook in order; a failure does not stop the others, all failures are thrown together. */
export async function startContributions(
  contributions: LifecycleContribution[],
  signal: AbortSignal,
  log: Logger,
  owner: (c: LifecycleContribution) => string,
): Promise<LifecycleContribution[]> {
  const errors: PluginError[] = [];
  const started: LifecycleContribution[] = [];
  for (const c of contributions) {
    if (!c.start) {
      started.push(c);
      continue;
    }
    const t = performance.now();
    try {
      await c.start(signal);
      started.push(c);
      log.debug({ contribution: c.id, ms: Math.round(performance.now() - t) }, 'started');
    } catch (err) {
      errors.push(new PluginError(owner(c), `start of ${c.id} failed: ${describeError(err)}`, err));
    }
  }
  if (errors.length > 0) {
    const e = new StartupError(errors);
    (e as StartupError & { started?: LifecycleContribution[] }).started = started;
    throw e;
  }
  return started;
}

/** Calls every stop hook in parallel; returns the ids that failed or did not finish within `timeoutMs`. */
export async function stopContributions(
  contributions: LifecycleContribution[],
  timeoutMs: number,
  log: Logger,
): Promise<string[]> {
  const pending = new Set(contributions.filter((c) => c.stop).map((c) => c.id));
  const failed: string[] = [];
  const all = Promise.allSettled(
    contributions
      .filter((c) => c.stop)
      .map(async (c) => {
        try {
          await c.stop!();
        } catch (err) {
          failed.push(c.id);
          log.error({ err, contribution: c.id }, 'stop hook failed');
        } finally {
          pending.delete(c.id);
        }
      }),
  );
  let t: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((r) => (t = setTimeout(r, timeoutMs)))]);
  clearTimeout(t);
  return [...failed, ...pending];
}

/** Resolves after `ms` or when `p` settles, whichever is first; true when `p` settled. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms))),
  ]);
  clearTimeout(t);
  return done;
}

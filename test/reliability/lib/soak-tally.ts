// The soak's view of the daemon's log: every job run from 'job started' to 'job finished', how it ended
// (success, skipped, or a failure with an error code from its 'job failed' line), and the error lines
// without a cause.

export class SoakTally {
  /** Finished runs by job and status ('JOB failure CODE' for failures). */
  readonly outcomes = new Map<string, number>();
  /** Finished runs the cron started (reason 'schedule'), every job. */
  scheduled = 0;
  finished = 0;
  /** Failed runs without an error code (and unknown statuses): violations. */
  readonly unclassified: string[] = [];
  /** Error-level lines without err.message: violations. */
  readonly causeless: string[] = [];
  longest = { ms: 0, job: '' };
  /** Runs started and not finished yet: runId → job. */
  readonly open = new Map<string, string>();
  /** Why each open run started ('schedule', 'event:artifact.stored', …). */
  readonly #reasons = new Map<string, string>();
  /** Error codes of failed runs, from their 'job failed' line (logged before 'job finished'). */
  readonly #codes = new Map<string, string | undefined>();

  /** Takes one parsed log line of the daemon. */
  record(l: Record<string, unknown>): void {
    const runId = typeof l.runId === 'string' ? l.runId : undefined;
    const job = String(l.job ?? '');
    if (typeof l.level === 'number' && l.level >= 50) {
      const err = l.err as { message?: unknown; code?: unknown } | undefined;
      if (!err || typeof err.message !== 'string' || err.message === '')
        this.causeless.push(JSON.stringify(l).slice(0, 300));
      if (l.msg === 'job failed' && runId)
        this.#codes.set(runId, typeof err?.code === 'string' && err.code ? err.code : undefined);
    }
    if (!runId) return;
    if (l.msg === 'job started') {
      this.#reasons.set(runId, String(l.reason ?? ''));
      this.open.set(runId, job);
    } else if (l.msg === 'job finished') {
      const reason = this.#reasons.get(runId);
      this.#reasons.delete(runId);
      this.open.delete(runId);
      const status = String(l.status);
      const code = this.#codes.get(runId);
      this.#codes.delete(runId);
      if (status === 'failure' && !code)
        this.unclassified.push(`${job} run ${runId}: failure without an error code: ${String(l.summary)}`);
      else if (status !== 'success' && status !== 'skipped' && status !== 'failure')
        this.unclassified.push(`${job} run ${runId}: status ${status}`);
      const key = `${job} ${status}${status === 'failure' ? ` ${code ?? '(no code)'}` : ''}`;
      this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + 1);
      this.finished++;
      if (reason === 'schedule') this.scheduled++;
      const ms = Number(l.ms);
      if (ms > this.longest.ms) this.longest = { ms, job };
    }
  }
}

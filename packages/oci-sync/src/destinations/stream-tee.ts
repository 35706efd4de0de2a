// Fans one readable out to several consumers with backpressure: the slowest branch paces the
// source, so memory stays at about 1 MiB per branch. A branch that goes away early
// (a failed upload, a reader that found what it wanted) is detached and the others go on, unless
// it is critical (the store write): then the source is destroyed and every branch errors with it.
import { PassThrough, type Readable } from 'node:stream';

export interface TeeBranchOptions {
  /** When this branch ends early or fails, the whole tee fails (source destroyed). */
  critical?: boolean;
  /** A non-critical branch that keeps the source paused this long is cut off (destroyed). */
  stallMs?: number;
}

/** Buffer of each side of a branch (a PassThrough holds up to two of these before it pushes back). */
export const TEE_BRANCH_BYTES = 512 * 1024;

/**
 * Starts reading `source` at once and returns one PassThrough per entry of `branches`. Errors of
 * the source reach every branch still attached; the source is destroyed when no branch is left.
 */
export function teeStream(source: Readable, branches: TeeBranchOptions[]): PassThrough[] {
  const outs = branches.map(() => new PassThrough({ highWaterMark: TEE_BRANCH_BYTES }));
  const active = new Set<PassThrough>(outs);
  const waiting = new Set<PassThrough>();
  const timers = new Map<PassThrough, NodeJS.Timeout>();
  let finished = false;

  const unwait = (out: PassThrough): void => {
    waiting.delete(out);
    const timer = timers.get(out);
    if (timer) clearTimeout(timer);
    timers.delete(out);
  };
  const wait = (out: PassThrough, i: number): void => {
    waiting.add(out);
    const ms = branches[i].stallMs;
    if (ms === undefined || branches[i].critical || timers.has(out)) return;
    const timer = setTimeout(() => {
      timers.delete(out);
      out.destroy(new Error(`tee branch stalled: nothing taken for ${ms} ms`));
    }, ms);
    timers.set(out, timer);
  };

  const detach = (out: PassThrough): void => {
    if (!active.delete(out)) return;
    unwait(out);
    if (active.size === 0) {
      if (!finished) source.destroy();
      return;
    }
    if (waiting.size === 0 && source.isPaused()) source.resume();
  };

  outs.forEach((out, i) => {
    // consumers attach their own listeners; this one only keeps a late error from crashing us
    out.on('error', () => undefined);
    out.on('drain', () => {
      unwait(out);
      if (waiting.size === 0 && !finished && source.isPaused()) source.resume();
    });
    out.on('close', () => {
      if (!active.has(out) || out.writableFinished) return;
      // gone before the end: a consumer failed or stopped reading
      const early = !finished;
      detach(out);
      if (early && branches[i].critical) {
        const cause = out.errored ?? undefined;
        source.destroy(cause instanceof Error ? cause : new Error('a required tee branch stopped early'));
      }
    });
  });

  source.on('data', (chunk: Buffer) => {
    outs.forEach((out, i) => {
      if (!active.has(out) || out.destroyed) return;
      if (!out.write(chunk)) wait(out, i);
    });
    if (waiting.size > 0) source.pause();
  });
  source.once('end', () => {
    finished = true;
    for (const out of active) out.end();
  });
  source.once('error', (err) => {
    finished = true;
    for (const out of [...active]) out.destroy(err);
  });
  source.once('close', () => {
    if (finished) return;
    // destroyed without an error and without an end: nobody may treat that as complete
    finished = true;
    const err = new Error('tee source closed before its end');
    for (const out of [...active]) out.destroy(err);
  });
  return outs;
}

// pino's err serializer appends every cause's message to the error's own; ours already quote the
// causes they need, so log lines would repeat themselves. describeError joins only what is new.
import { describeError } from './errors.js';

/** Wraps pino's std err serializer (passed in, so this package does not load pino itself). */
export function quotingCausesOnce<T>(std: (err: Error) => T): (err: Error) => T {
  return (err) => {
    const out = std(err);
    if (out && typeof out === 'object' && err instanceof Error)
      (out as { message?: string }).message = describeError(err);
    return out;
  };
}

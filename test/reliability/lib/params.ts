// Run parameters of the reliability suite, from the environment, so a failing run can be replayed
// (`RELIABILITY_SEED=… npm run test:reliability`) and the long runs scaled up or down.

/** The seed of a whole suite run; printed with every failure. */
export const RELIABILITY_SEED = process.env.RELIABILITY_SEED ?? String(Date.now() % 1_000_000_007);

/** An integer from the environment, or the suite's own default. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: expected a non-negative integer, got ${raw}`);
  return n;
}

/** A probability from the environment (0..1). */
export function envRate(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(n >= 0 && n <= 1)) throw new Error(`${name}: expected a number in [0, 1], got ${raw}`);
  return n;
}

/** The line to paste to replay a run. */
export function replayHint(suite: string, seed = RELIABILITY_SEED): string {
  return `replay: RELIABILITY_SEED=${seed} npm run test:reliability -- ${suite}`;
}

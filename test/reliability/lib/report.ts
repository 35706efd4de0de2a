// Per-suite figures (runs, faults injected, invariant violations, recoveries) and how they are shown:
// a `t.diagnostic` table in the TAP output and one plain console line per suite.
import type { TestContext } from 'node:test';
import { RELIABILITY_SEED, replayHint } from './params.js';

export class SuiteReport {
  runs = 0;
  faults = 0;
  recoveries = 0;
  readonly violations: string[] = [];
  /** Extra counters shown in the table (e.g. failed passes, crash points). */
  readonly extra: Record<string, number> = {};

  constructor(
    readonly name: string,
    readonly seed = RELIABILITY_SEED,
  ) {}

  count(key: string, n = 1): void {
    this.extra[key] = (this.extra[key] ?? 0) + n;
  }

  violation(run: number | string, what: string): void {
    this.violations.push(`run ${run}: ${what}`);
  }

  line(): string {
    return `reliability ${this.name}: runs=${this.runs} faults=${this.faults} violations=${this.violations.length} recoveries=${this.recoveries} seed=${this.seed}`;
  }

  /** Prints the figures; call it in `after()` or at the end of the test so they show even on failure. */
  print(t?: Pick<TestContext, 'diagnostic'>): void {
    const rows: [string, string][] = [
      ['suite', this.name],
      ['seed', this.seed],
      ['runs', String(this.runs)],
      ['faults injected', String(this.faults)],
      ['invariant violations', String(this.violations.length)],
      ['recoveries', String(this.recoveries)],
      ...Object.entries(this.extra).map(([k, v]): [string, string] => [k, String(v)]),
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    const table = rows.map(([k, v]) => `${k.padEnd(w)} | ${v}`);
    for (const row of table) t?.diagnostic(row);
    for (const v of this.violations.slice(0, 20)) t?.diagnostic(`violation: ${v}`);
    console.log(this.line());
    if (this.violations.length > 0) {
      for (const v of this.violations.slice(0, 20)) console.log(`  violation: ${v}`);
      console.log(`  ${replayHint(this.name, this.seed)}`);
    }
  }

  /** A failure message naming the seed, for assertions. */
  failure(): string {
    return `${this.violations.length} invariant violation(s) in ${this.name}:\n${this.violations
      .slice(0, 20)
      .join('\n')}\n${replayHint(this.name, this.seed)}`;
  }
}

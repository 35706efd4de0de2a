// A cron expression in a plugin's config schema: `schedule: cronExpression().default('17 */6 * * *')`.
// The schema checks it the way the scheduler will (the runtime installs the scheduler's validator), so
// `config check` and `run` refuse the same expressions, with the YAML path and line.
import { z } from 'zod';

/** Returns why `expression` is not a valid cron expression, or undefined when it is. */
export type CronValidator = (expression: string) => string | undefined;

// Symbol.for: a plugin that bundles its own copy of this package still finds the runtime's validator.
const VALIDATOR = Symbol.for('trivy-mirror.plugin-api.cron-validator');

/** The runtime calls this once with its scheduler's validation (node-cron). */
export function setCronValidator(validator: CronValidator): void {
  (globalThis as Record<symbol, unknown>)[VALIDATOR] = validator;
}

/** Why `expression` would be refused by the scheduler (undefined: it would not, or no runtime is loaded). */
export function cronProblem(expression: string): string | undefined {
  const validator = (globalThis as Record<symbol, unknown>)[VALIDATOR] as CronValidator | undefined;
  return validator?.(expression);
}

/** A zod string holding a cron expression (5 fields, or 6 with seconds first; @daily and such). */
export function cronExpression(): z.ZodString {
  return z
    .string()
    .min(1)
    .describe("cron expression: minute hour day-of-month month day-of-week (the daemon's local time)")
    .superRefine((value, ctx) => {
      const why = cronProblem(value);
      if (why) ctx.addIssue({ code: 'custom', message: `invalid cron expression "${value}": ${why}` });
    });
}

// The scheduler's (node-cron's) view of a cron expression, shared by the config schema (plugins'
// `cronExpression()` fields) and the scheduler's own check, so both refuse exactly the same expressions.
import { setCronValidator } from '@trivy-mirror/plugin-api';
import cron from 'node-cron';

// node-cron says "99 is a invalid expression for minute": we say what the field takes.
const FIELD_RANGES: Record<string, string> = {
  second: '0-59',
  minute: '0-59',
  hour: '0-23',
  dayOfMonth: '1-31',
  month: '1-12 or jan-dec',
  dayOfWeek: '0-7 or sun-sat',
};

/** Why node-cron refuses `expression` ("minute: 99 is not a valid value (0-59)"), or undefined. */
export function cronExpressionProblem(expression: string): string | undefined {
  const detail = cron.validateDetailed(expression);
  if (detail.valid) return undefined;
  const why = detail.errors
    .map((e) => {
      const range = FIELD_RANGES[e.field];
      const message = / is a invalid expression for /.test(e.message)
        ? `${e.value} is not a valid value${range ? ` (${range}, lists, ranges, */N)` : ''}`
        : e.message;
      return `${e.field}: ${message}`;
    })
    .join('; ');
  return why || 'invalid';
}

setCronValidator(cronExpressionProblem);

// The scheduler's (node-cron's) view of a cron expression, shared by the config schema (plugins'
// `cronExpression()` fields) and the scheduler's own check, so both refuse exactly the same expressions.
import { setCronValidator } from '@trivy-mirror/plugin-api';
import cron from 'node-cron';

/** Why node-cron refuses `expression` ("minute: 99 is a invalid expression for minute"), or undefined. */
export function cronExpressionProblem(expression: string): string | undefined {
  const detail = cron.validateDetailed(expression);
  if (detail.valid) return undefined;
  const why = detail.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  return why || 'invalid';
}

setCronValidator(cronExpressionProblem);

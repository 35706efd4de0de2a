// What every hostile case (hostile-*.test.ts) ends with: the world's invariants over what the daemon
// logged since the case began; each violation is recorded under the case's name and fails the test.
import assert from 'node:assert/strict';
import type { InvariantTargets } from './invariants.js';
import type { SuiteReport } from './report.js';
import type { World } from './world.js';

export async function expectNoViolations(
  world: World,
  report: SuiteReport,
  label: string,
  options: { logStart: number } & Pick<InvariantTargets, 'registryStorage'>,
): Promise<void> {
  const { logStart, ...targets } = options;
  const violations = await world.invariants({
    ...targets,
    logs: world.requireDaemon().logs().slice(logStart),
    adminUrl: world.adminUrl,
  });
  for (const v of violations) report.violation(label, v);
  assert.deepEqual(violations, []);
}

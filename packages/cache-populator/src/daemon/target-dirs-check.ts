// `config check` (and the pre-flight of `run`): every target dir exists or can be made, without making it.
import { creatableDirProblem } from '@trivy-mirror/oci/fs';
import { ConfigError } from '@trivy-mirror/plugin-api';
import type { CacheTarget } from '../config-schema.js';

export async function checkTargetDirs(targets: readonly CacheTarget[]): Promise<void> {
  const issues: { path: string; message: string }[] = [];
  for (const [i, t] of targets.entries()) {
    const problem = await creatableDirProblem(t.dir);
    if (problem) issues.push({ path: `plugins.cache-populator.targets[${i}].dir`, message: problem });
  }
  if (issues.length > 0)
    throw new ConfigError(
      `cache-populator: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    );
}

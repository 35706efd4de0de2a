// No silent rollback for VEX: a repository's versions are ordered by their index.json updated_at. A new
// archive (download or import) older than the served one is refused (ROLLBACK_REFUSED) unless the
// operator allows it; the served version stays.
import { type Logger, MirrorError } from '@trivy-mirror/plugin-api';

export const ROLLBACK_REFUSED = 'ROLLBACK_REFUSED';

interface VexVersionAge {
  version: string;
  updatedAt: string;
}

/** True when `incoming` is another version whose updated_at is older than `served`'s. */
export function isVexRollback(served: VexVersionAge | undefined, incoming: VexVersionAge): boolean {
  if (!served || served.version === incoming.version) return false;
  const [a, b] = [Date.parse(served.updatedAt), Date.parse(incoming.updatedAt)];
  return !Number.isNaN(a) && !Number.isNaN(b) && b < a;
}

/** "the served sha256:… (updated_at …)" */
export function describeVexRollback(served: VexVersionAge, incoming: VexVersionAge): string {
  return (
    `sha256:${incoming.version} (updated_at ${incoming.updatedAt}) is older than the served ` +
    `sha256:${served.version} (updated_at ${served.updatedAt})`
  );
}

/** The download's guard, before the new version is committed. */
export function refuseRollback(
  repo: { name: string; allowRollback?: boolean },
  served: VexVersionAge | undefined,
  incoming: VexVersionAge,
  log: Logger,
): void {
  if (!served || !isVexRollback(served, incoming)) return;
  const line = `vex repository ${repo.name}: the upstream archive ${describeVexRollback(served, incoming)}`;
  if (repo.allowRollback) {
    log.warn({ served, incoming }, `rollback allowed (allowRollback): ${line}`);
    return;
  }
  throw new MirrorError(
    ROLLBACK_REFUSED,
    `${line}: rollback refused, the served version stays. To take it: \`trivy-mirror sync ` +
      `--allow-rollback\`, or allowRollback: true on ${repo.name} in plugins.vexhub-mirror.repositories`,
  );
}

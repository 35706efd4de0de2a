// No silent rollback: a sync or an import never replaces the served version of a tag with an older
// one unless the operator asks. "Older" is metadata.json UpdatedAt (trivy-db, trivy-java-db: when Aqua
// built it). Where a side lacks one (trivy-checks, a layer without metadata.json), an import falls back
// to the connected side's stored-at time; a sync has no order then and takes what upstream tags.
import { MirrorError } from '@trivy-mirror/plugin-api';

export const ROLLBACK_REFUSED = 'ROLLBACK_REFUSED';

export interface VersionAge {
  digest: string;
  /** metadata.json UpdatedAt. */
  updatedAt?: string;
  /** io.github.trivy-mirror.stored-at (when the connected side stored it). */
  storedAt?: string;
}

export interface Rollback {
  served: VersionAge;
  incoming: VersionAge;
  /** Which times showed the order. */
  by: 'UpdatedAt' | 'stored-at';
}

const time = (s: string | undefined): number | undefined => {
  const t = Date.parse(s ?? '');
  return Number.isNaN(t) ? undefined : t;
};

/**
 * The rollback that replacing `served` with `incoming` would be, or undefined when it is not one
 * (nothing served, the same version, newer or equal, or no order known). UpdatedAt decides when
 * both have one; `storedAtOrder` lets the stored-at times decide otherwise (imports).
 */
export function rollbackOf(
  served: VersionAge | undefined,
  incoming: VersionAge,
  options: { storedAtOrder: boolean },
): Rollback | undefined {
  if (!served || served.digest === incoming.digest) return undefined;
  const [a, b] = [time(served.updatedAt), time(incoming.updatedAt)];
  if (a !== undefined && b !== undefined) return b < a ? { served, incoming, by: 'UpdatedAt' } : undefined;
  if (!options.storedAtOrder) return undefined;
  const [c, d] = [time(served.storedAt), time(incoming.storedAt)];
  if (c !== undefined && d !== undefined && d < c) return { served, incoming, by: 'stored-at' };
  return undefined;
}

/** "sha256:… (UpdatedAt 2026-…)" */
export function describeVersion(v: VersionAge, by: Rollback['by']): string {
  const at = by === 'UpdatedAt' ? v.updatedAt : v.storedAt;
  return `${v.digest} (${by} ${at ?? 'unknown'})`;
}

/** One line naming both versions: "trivy-db:2: X is older than the served Y". */
export function describeRollback(what: string, r: Rollback, incomingName = 'the new version'): string {
  return `${what}: ${incomingName} ${describeVersion(r.incoming, r.by)} is older than the served ${describeVersion(r.served, r.by)}`;
}

export class RollbackRefusedError extends MirrorError {
  readonly rollbacks: { what: string; rollback: Rollback }[];
  constructor(message: string, rollbacks: { what: string; rollback: Rollback }[]) {
    super(ROLLBACK_REFUSED, message);
    this.name = 'RollbackRefusedError';
    this.rollbacks = rollbacks;
  }
}

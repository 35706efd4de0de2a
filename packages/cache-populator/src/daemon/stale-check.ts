// Staleness of a populated db/java-db part: past NextUpdate + staleGraceMinutes. A version that
// came from a sync asks for one (sync.requested) and counts against readiness until a fresh one is
// populated. A version that came by `trivy-mirror import` (the store's index entry carries the
// import annotation) has no upstream to ask: that is only a warning, logged once per NextUpdate;
// the store's freshness is oci-sync's to report (/status, trivy_mirror_artifact_stale).
import { OciLayout } from '@trivy-mirror/oci';
import type { EventBus, Logger } from '@trivy-mirror/plugin-api';
import type { CacheTarget } from '../config-schema.js';
import type { PartState } from '../disk/part-state.js';
import { parseGoTime } from '../populate/trivy-metadata.js';

/** oci-sync's annotation on store versions that came by import (a store format fact, not an import of the plugin). */
const IMPORTED_AT_ANNOTATION = 'io.github.trivy-mirror.imported-at';

export interface StaleHealth {
  /** NextUpdate value already warned about (or for which sync.requested was emitted). */
  staleNotified?: string;
  /** Stale and counting against readiness. */
  stale?: boolean;
  /** Past NextUpdate, but an imported version: a warning only. */
  staleImported?: boolean;
}

async function isImportedVersion(layoutPath: string, digest: string | undefined): Promise<boolean> {
  if (!digest) return false;
  try {
    const index = await (await OciLayout.open(layoutPath)).index();
    return index.manifests.some((m) => m.digest === digest && m.annotations?.[IMPORTED_AT_ANNOTATION]);
  } catch {
    return false;
  }
}

export async function checkPartStale(
  deps: { events: EventBus; logger: Logger; layoutPath: (repository: string) => string },
  target: CacheTarget,
  state: PartState,
  meta: Record<string, unknown> | undefined,
  now: Date,
  h: StaleHealth,
): Promise<void> {
  const next = parseGoTime(meta?.NextUpdate);
  if ((state.part !== 'db' && state.part !== 'java-db') || !next) {
    h.stale = false;
    h.staleImported = false;
    return;
  }
  const past = now.getTime() > next.getTime() + target.staleGraceMinutes * 60_000;
  const imported =
    past && state.repository !== undefined
      ? await isImportedVersion(deps.layoutPath(state.repository), state.manifestDigest)
      : false;
  h.stale = past && !imported;
  h.staleImported = past && imported;
  const nextText = String(meta?.NextUpdate);
  if (!past || h.staleNotified === nextText) return;
  h.staleNotified = nextText;
  if (imported) {
    deps.logger.warn(
      { dir: target.dir, part: state.part, nextUpdate: nextText },
      'cache part past its NextUpdate; it came by import (no upstream): import a newer export to refresh it',
    );
    return;
  }
  deps.logger.warn(
    { dir: target.dir, part: state.part, nextUpdate: nextText },
    'cache part stale; requesting a sync',
  );
  deps.events.emit('sync.requested', {
    reason: `cache ${target.dir} ${state.part} stale (NextUpdate ${nextText})`,
    repository: state.repository,
  });
}

// How an imported layout's tags enter the store's index: each becomes the current version
// (planTagUpdate, so keepVersions holds, annotated with the import time and directory), unless the
// store already serves a newer one — an old export carried in again never rolls a site back
// without `allowOlder`. "Newer" is the connected side's stored-at time of each version.
import { Annotation, type Descriptor } from '@trivy-mirror/oci';
import {
  currentEntry,
  IMPORTED_AT_ANNOTATION,
  IMPORTED_FROM_ANNOTATION,
  planTagUpdate,
  STORED_AT_ANNOTATION,
} from '../store/store-versions.js';

export interface KeptNewer {
  tag: string;
  /** stored-at of the version the store keeps serving, and of the export's. */
  served: string;
  imported: string;
}

export interface ImportRecord {
  keepVersions: number;
  importedAt: string;
  importedFrom: string;
  allowOlder: boolean;
}

const storedAt = (d: Descriptor | undefined) => {
  const t = Date.parse(d?.annotations?.[STORED_AT_ANNOTATION] ?? '');
  return Number.isNaN(t) ? undefined : t;
};

export function mergeImported(
  existing: Descriptor[],
  imported: Descriptor[],
  record: ImportRecord,
): { manifests: Descriptor[]; dropped: Descriptor[]; keptNewer: KeptNewer[] } {
  let manifests = existing;
  const dropped: Descriptor[] = [];
  const keptNewer: KeptNewer[] = [];
  for (const m of imported) {
    const tag = m.annotations?.[Annotation.RefName];
    if (!tag) continue;
    const current = currentEntry(manifests, tag);
    const servedAt = storedAt(current);
    const importAt = storedAt(m);
    if (
      !record.allowOlder &&
      current &&
      current.digest !== m.digest &&
      servedAt !== undefined &&
      importAt !== undefined &&
      importAt < servedAt
    ) {
      keptNewer.push({
        tag,
        served: new Date(servedAt).toISOString(),
        imported: new Date(importAt).toISOString(),
      });
      continue;
    }
    const plan = planTagUpdate(
      manifests,
      m,
      tag,
      m.annotations?.[STORED_AT_ANNOTATION] ?? record.importedAt,
      record.keepVersions,
      { [IMPORTED_AT_ANNOTATION]: record.importedAt, [IMPORTED_FROM_ANNOTATION]: record.importedFrom },
    );
    manifests = plan.manifests;
    dropped.push(...plan.dropped);
  }
  return { manifests, dropped, keptNewer };
}

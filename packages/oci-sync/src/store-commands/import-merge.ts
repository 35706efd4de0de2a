// How an imported layout's tags enter the store's index: each becomes the current version
// (planTagUpdate, so keepVersions holds, annotated with the import time and directory). Whether an
// import may replace a newer served version was decided before (import-rollback.ts).
import { Annotation, type Descriptor, isSignatureTag } from '@trivy-mirror/oci';
import {
  currentEntry,
  IMPORTED_AT_ANNOTATION,
  IMPORTED_FROM_ANNOTATION,
  planTagUpdate,
  STORED_AT_ANNOTATION,
} from '../store/store-versions.js';

export interface ImportRecord {
  keepVersions: number;
  importedAt: string;
  importedFrom: string;
}

const storedAt = (d: Descriptor | undefined): string => d?.annotations?.[STORED_AT_ANNOTATION] ?? '';

export function mergeImported(
  existing: Descriptor[],
  imported: Descriptor[],
  record: ImportRecord,
): { manifests: Descriptor[]; dropped: Descriptor[] } {
  let manifests = existing;
  const dropped: Descriptor[] = [];
  for (const m of imported) {
    const tag = m.annotations?.[Annotation.RefName];
    if (!tag) continue;
    // The served signature artifact of a version, stored later (another key added), is kept: an
    // older export would take that signature away.
    if (isSignatureTag(tag) && storedAt(currentEntry(manifests, tag)) > storedAt(m)) continue;
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
  return { manifests, dropped };
}

// The rollback guard of an import, before anything is copied: each tag the export carries is compared
// with the version the store serves for it. trivy-db and trivy-java-db by metadata.json UpdatedAt;
// trivy-checks (no UpdatedAt) and layers without metadata.json by the connected side's stored-at time.
import { join } from 'node:path';
import { Annotation, isSignatureTag, type OciLayout } from '@trivy-mirror/oci';
import { openLayout } from '../sync/artifact-sync.js';
import { ruleFor } from '../sync/artifact-rules.js';
import { readLayerMetadata } from '../metadata/layer-metadata.js';
import { describeRollback, type Rollback, RollbackRefusedError, rollbackOf } from './rollback-guard.js';
import { currentEntry, STORED_AT_ANNOTATION } from '../store/store-versions.js';
import type { PlannedImport } from '../store-commands/planned-import.js';

export interface ImportRollback {
  /** repository:tag */
  what: string;
  rollback: Rollback;
}

async function layerUpdatedAt(layout: OciLayout, manifestDigest: string): Promise<string | undefined> {
  try {
    const layer = (await layout.manifestGet(manifestDigest))?.manifest.layers?.at(0);
    if (!layer) return undefined;
    return (await readLayerMetadata(layout.blobOpen(layer.digest)))?.updatedAt;
  } catch {
    // a served version that cannot be read has no order; the import repairs it
    return undefined;
  }
}

/** Every tag of `planned` whose import into `storeRoot` would replace a newer served version. */
export async function findImportRollbacks(
  planned: PlannedImport,
  storeRoot: string,
): Promise<ImportRollback[]> {
  const out: ImportRollback[] = [];
  for (const { repository, src, plan } of planned.layouts) {
    const dst = await openLayout(join(storeRoot, repository));
    if (!dst) continue;
    const served = await dst.index().catch(() => undefined);
    if (!served) continue;
    const withMetadata = ruleFor(repository)?.hasMetadata === true;
    for (const m of plan.manifests) {
      const tag = m.annotations?.[Annotation.RefName];
      const current = tag === undefined ? undefined : currentEntry(served.manifests, tag);
      // a signature artifact is no version: import-merge keeps the newer of two (import-merge.ts)
      if (!tag || isSignatureTag(tag) || !current || current.digest === m.digest) continue;
      const rollback = rollbackOf(
        {
          digest: current.digest,
          storedAt: current.annotations?.[STORED_AT_ANNOTATION],
          updatedAt: withMetadata ? await layerUpdatedAt(dst, current.digest) : undefined,
        },
        {
          digest: m.digest,
          storedAt: m.annotations?.[STORED_AT_ANNOTATION],
          updatedAt: withMetadata ? await layerUpdatedAt(src, m.digest) : undefined,
        },
        { storedAtOrder: true },
      );
      if (rollback) out.push({ what: `${repository}:${tag}`, rollback });
    }
  }
  return out;
}

/** One line per rollback: "trivy-db:2: the export's sha256:… (UpdatedAt …) is older than the served …". */
export function describeImportRollbacks(rollbacks: ImportRollback[]): string[] {
  return rollbacks.map((r) => describeRollback(r.what, r.rollback, "the export's"));
}

/** The refusal of an import that would roll back: names every version, changes nothing. */
export function importRollbackError(
  inDir: string,
  lines: string[],
  rollbacks: ImportRollback[] = [],
): RollbackRefusedError {
  return new RollbackRefusedError(
    `import of ${inDir} refused, nothing changed: rollback: ${lines.join('; ')}; ` +
      'pass --allow-rollback to import the older versions anyway',
    rollbacks,
  );
}

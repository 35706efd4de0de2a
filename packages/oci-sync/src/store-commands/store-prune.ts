// `trivy-mirror store prune`: keeps the newest `keep` versions of every tag (the current one always,
// see versionsOf), drops the older index entries, then removes blobs no remaining entry references:
// those of the dropped versions at once (asked for), other orphans only once older than the grace
// period (a sync running now may have written them before its index update).
import { join } from 'node:path';
import { type Descriptor, OciLayout } from '@trivy-mirror/oci';
import { MirrorError } from '@trivy-mirror/plugin-api';
import { entryTag, signaturesOfDropped, versionsOf } from '../store/store-versions.js';
import { findLayouts } from './store-transfer.js';

export interface PruneRepositoryReport {
  repository: string;
  /** Index entries dropped (older versions beyond `keep`). */
  versionsDropped: { tag: string; digest: string }[];
  blobsRemoved: number;
  bytesFreed: number;
}

export interface PruneOptions {
  /** Versions kept per tag, the current one included (at least 1). */
  keep: number;
  /** Report only: index.json and blobs stay as they are. */
  dryRun?: boolean;
  /** Unreferenced blobs younger than this stay (default 15 min, as in the daemon's gc). */
  graceMs?: number;
}

/** The index with at most `keep` versions per tag; entries that belong to no tag are kept. */
export function planPrune(
  manifests: Descriptor[],
  keep: number,
): { kept: Descriptor[]; dropped: Descriptor[] } {
  const dropped = new Set<Descriptor>();
  const tags = new Set(manifests.map(entryTag).filter((t): t is string => t !== undefined));
  for (const tag of tags) for (const old of versionsOf(manifests, tag).slice(keep)) dropped.add(old);
  const left = manifests.filter((m) => !dropped.has(m));
  for (const sig of signaturesOfDropped(left, [...dropped])) dropped.add(sig);
  return { kept: manifests.filter((m) => !dropped.has(m)), dropped: [...dropped] };
}

export async function pruneStore(root: string, options: PruneOptions): Promise<PruneRepositoryReport[]> {
  if (!Number.isInteger(options.keep) || options.keep < 1)
    throw new MirrorError(
      'USAGE_INVALID',
      `keep must be a whole number of versions, at least 1 (got ${options.keep})`,
    );
  const reports: PruneRepositoryReport[] = [];
  for (const repository of await findLayouts(root)) {
    const layout = await OciLayout.open(join(root, repository));
    let plan = planPrune((await layout.index()).manifests, options.keep);
    if (!options.dryRun && plan.dropped.length > 0) {
      await layout.indexUpdate((manifests) => {
        plan = planPrune(manifests, options.keep);
        return plan.dropped.length > 0 ? plan.kept : undefined;
      });
    }
    const index = options.dryRun ? plan.kept : undefined;
    const ofDropped = await layout.referenced(plan.dropped);
    const dropped = await layout.gc({
      graceMs: 0,
      dryRun: options.dryRun,
      index,
      keep: (d) => !ofDropped.has(d),
    });
    const orphans = await layout.gc({
      graceMs: options.graceMs,
      dryRun: options.dryRun,
      index,
      keep: (d) => ofDropped.has(d),
    });
    reports.push({
      repository,
      versionsDropped: plan.dropped.map((d) => ({ tag: entryTag(d) ?? '', digest: d.digest })),
      blobsRemoved: dropped.removed.length + orphans.removed.length,
      bytesFreed: dropped.bytes + orphans.bytes,
    });
  }
  return reports;
}

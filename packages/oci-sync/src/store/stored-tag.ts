// What the store holds of one tag when the job syncs or checks it, with damage dealt with first: a
// torn index.json is rebuilt from the blobs (index-rebuild.ts) and logged; a version that lacks a blob
// or whose manifest does not hash right is reported to StoreDamage (which quarantines what is bad),
// so the sync fetches it again and /readyz names it meanwhile.
import { join } from 'node:path';
import {
  Annotation,
  isOciError,
  isSignatureTag,
  type ManifestBytes,
  OciErrorCode,
  type OciLayout,
} from '@trivy-mirror/oci';
import type { Logger } from '@trivy-mirror/plugin-api';
import type { ArtifactConfig, OciSyncConfig } from '../config.js';
import { type RebuiltIndex, rebuildIndex } from './index-rebuild.js';
import type { StoreDamage } from './store-damage.js';
import { type SyncState, statusKey } from '../sync/sync-state.js';
import { type VersionDamage, versionDamage } from './version-blobs.js';

export interface StoredTagDeps {
  config: Pick<OciSyncConfig, 'keepVersions'>;
  state: SyncState;
  logger: Logger;
  damage?: StoreDamage;
}

export interface StoredTag {
  /** The tag's current version, verified and complete. */
  stored?: ManifestBytes;
  /** The tag's current version is damaged: what it lacks. */
  damage?: VersionDamage;
}

export async function storedTag(
  deps: StoredTagDeps,
  artifact: ArtifactConfig,
  layout: OciLayout,
  tag: string,
): Promise<StoredTag> {
  await recoverIndex(deps, artifact, layout);
  const current = await layout.resolve(tag);
  if (!current) return {};
  const damage = await versionDamage(layout, current.digest);
  if (damage) {
    for (const digest of damage.blobs) {
      await deps.damage?.check(
        { repository: artifact.name, digest, reason: damage.reason, reporter: 'oci-sync' },
        { requestSync: false },
      );
    }
    return { damage };
  }
  return { stored: await layout.manifestGet(current.digest) };
}

/** Rebuilds index.json when it cannot be read (only then takes the index lock). */
async function recoverIndex(deps: StoredTagDeps, artifact: ArtifactConfig, layout: OciLayout): Promise<void> {
  try {
    await layout.index();
    return;
  } catch (err) {
    if (!isOciError(err, OciErrorCode.LAYOUT_INVALID)) throw err;
  }
  let plan: RebuiltIndex | undefined;
  const kept = await layout.indexRecover(async () => {
    const known = Object.fromEntries(
      artifact.tags.map((t) => [t, deps.state.data.artifacts[statusKey(artifact.name, t)]?.manifestDigest]),
    );
    plan = await rebuildIndex(layout, {
      artifact: artifact.name,
      tags: artifact.tags,
      keepVersions: deps.config.keepVersions,
      known,
    });
    return plan.manifests;
  });
  if (kept === undefined) return; // another writer rebuilt it first
  const entries = plan?.manifests ?? [];
  const signatures = entries.filter((m) => isSignatureTag(m.annotations?.[Annotation.RefName] ?? '')).length;
  deps.logger.warn(
    {
      repository: artifact.name,
      file: join(layout.dir, 'index.json'),
      damagedCopy: kept || undefined,
      tags: plan?.tags,
      versions: entries.length - signatures,
      signatures,
    },
    'index.json was damaged: rebuilt from the blobs (see the runbook, "Store damaged")',
  );
}

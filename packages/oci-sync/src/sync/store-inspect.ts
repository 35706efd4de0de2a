// An artifact/tag without an upstream (`sources: []`, the air-gapped inside daemon): nothing is
// fetched. The job checks what the store holds (complete, a valid Trivy artifact), records it for
// /status (import time and directory, metadata.json times), pushes it to the configured
// destinations and announces it like a sync would.
import { Annotation, isOciError, OciErrorCode, OciLayout } from '@trivy-mirror/oci';
import { MirrorError } from '@trivy-mirror/plugin-api';
import { validateTrivyArtifact } from './artifact-rules.js';
import type { ArtifactSyncDeps, ArtifactTagResult } from './artifact-sync-types.js';
import type { ArtifactConfig } from '../config.js';
import { pushAndRecord, throwIfPushFailed } from '../destinations/destination-push.js';
import { recordStored } from '../metadata/record-stored.js';
import {
  IMPORTED_AT_ANNOTATION,
  IMPORTED_FROM_ANNOTATION,
  STORED_AT_ANNOTATION,
} from '../store/store-versions.js';
import { tagAttempt } from '../destinations/tag-attempt.js';
import { storedTag } from '../store/stored-tag.js';
import { newestCompleteOlder } from '../store/version-blobs.js';

/** The upstream prefixes of an artifact: its own `sources`, else the plugin's (empty: none). */
export function upstreamsOf(artifact: ArtifactConfig, sources: string[]): string[] {
  return artifact.sources ?? sources;
}

export async function inspectStoredTag(
  deps: Omit<ArtifactSyncDeps, 'cooldowns'>,
  artifact: ArtifactConfig,
  tag: string,
): Promise<ArtifactTagResult> {
  const name = artifact.name;
  const layoutPath = deps.store.layoutPath(name);
  return tagAttempt(deps, { name, tag, layoutPath }, async (result, status) => {
    const layout = await OciLayout.open(layoutPath).catch((err: unknown) => {
      if (isOciError(err, OciErrorCode.LAYOUT_INVALID)) return undefined;
      throw err;
    });
    const found = layout ? await storedTag(deps, artifact, layout, tag) : {};
    if (layout && found.damage) {
      // nothing can fetch it again: the newest complete older version is served meanwhile
      const { digest } = found.damage;
      const older = await newestCompleteOlder(layout, tag);
      deps.damage?.setFallback(name, tag, older?.digest, digest);
      const what = deps.damage?.describe(name, found.damage) ?? found.damage.reason;
      throw new MirrorError(
        'STORE_DAMAGED',
        `${name}:${tag}: the stored version ${digest} is damaged in ${layoutPath} (${what})` +
          `${older ? `; serving the older version ${older.digest} meanwhile` : ''}; no upstream (sources: []): ` +
          `import an export that holds ${name}:${tag}@${digest} (\`trivy-mirror import DIR\`) to restore it`,
      );
    }
    deps.damage?.setFallback(name, tag, undefined);
    const current = found.stored;
    if (!layout || !current) {
      throw new MirrorError(
        'NOT_IMPORTED',
        `${name}:${tag} is not in the store, and it has no upstream (sources: []): it comes only from \`trivy-mirror import DIR\``,
      );
    }
    const layer = validateTrivyArtifact(
      name,
      current.manifest,
      `${name}:${tag}@${current.descriptor.digest}`,
    );
    // trust.require: a version no trusted key signed is neither announced, pushed nor served
    await deps.servedTrust?.gate(layout, name, tag, current.descriptor.digest, status);
    const entry = (await layout.index()).manifests.find(
      (m) => m.annotations?.[Annotation.RefName] === tag && m.digest === current.descriptor.digest,
    );
    const importedFrom = entry?.annotations?.[IMPORTED_FROM_ANNOTATION];
    result.changed = status.manifestDigest !== current.descriptor.digest;
    await recordStored(
      deps,
      layout,
      status,
      current,
      importedFrom ? `import ${importedFrom}` : 'store',
      result.changed,
      // nothing was downloaded: the imported layer's times are read at once
      { readMetadata: true },
    );
    status.importedAt = entry?.annotations?.[IMPORTED_AT_ANNOTATION];
    status.importedFrom = importedFrom;
    if (result.changed && entry?.annotations?.[STORED_AT_ANNOTATION])
      status.lastChange =
        entry.annotations[IMPORTED_AT_ANNOTATION] ?? entry.annotations[STORED_AT_ANNOTATION];
    result.source = status.source;
    result.digest = current.descriptor.digest;
    result.layer = { ...layer, title: layer.annotations?.['org.opencontainers.image.title'] };
    // an inside site may feed its own registries (Harbor, …) from what it imported
    await pushAndRecord(deps, result, status, current);
    throwIfPushFailed(result);
    status.lastError = undefined;
  });
}

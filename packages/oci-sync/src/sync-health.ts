// HealthCheck `oci-sync`: ready once every configured artifact/tag has a stored version (without an
// upstream, `sources: []`, that is "holds a complete imported version"); the status shows per
// artifact/tag what /status and `trivy-mirror status` print, with a freshness line. A stale version
// is a warning (and the trivy_mirror_artifact_stale metric), never a reason to be unready.
import { OciLayout } from '@trivy-mirror/oci';
import type { ArtifactStore, HealthCheck, HealthReport } from '@trivy-mirror/plugin-api';
import type { OciSyncConfig } from './config.js';
import type { SourceCooldowns } from './source-fallback.js';
import { freshnessOf } from './store-freshness.js';
import { upstreamsOf } from './store-inspect.js';
import type { SyncMetrics } from './sync-metrics.js';
import { type SyncState, statusKey } from './sync-state.js';
import { hasBlobs } from './version-blobs.js';

async function isComplete(layout: OciLayout, tag: string): Promise<boolean> {
  try {
    const current = await layout.manifestGet(tag);
    return current !== undefined && (await hasBlobs(layout, current));
  } catch {
    return false;
  }
}

export class OciSyncHealth implements HealthCheck {
  readonly id = 'oci-sync';

  constructor(
    private readonly config: OciSyncConfig,
    private readonly store: ArtifactStore,
    private readonly state: SyncState,
    private readonly cooldowns: SourceCooldowns,
    private readonly now: () => Date = () => new Date(),
    private readonly metrics?: SyncMetrics,
  ) {
    metrics?.onCollect(() => this.check());
  }

  async check(): Promise<HealthReport> {
    await this.state.load();
    const missing: string[] = [];
    const notImported: string[] = [];
    const incomplete: string[] = [];
    const warnings: string[] = [];
    const artifacts: Record<string, unknown> = {};
    for (const artifact of this.config.artifacts) {
      let tags: string[] = [];
      let layout: OciLayout | undefined;
      try {
        layout = await OciLayout.open(this.store.layoutPath(artifact.name));
        tags = await layout.tags();
      } catch {
        // no layout yet
      }
      const importOnly = upstreamsOf(artifact, this.config.sources).length === 0;
      for (const tag of artifact.tags) {
        const key = statusKey(artifact.name, tag);
        let stored = tags.includes(tag);
        // Nothing re-fetches an import: ready needs every blob of the served version on disk.
        if (stored && importOnly && layout && !(await isComplete(layout, tag))) {
          stored = false;
          incomplete.push(key);
        } else if (!stored) (importOnly ? notImported : missing).push(key);
        const status = this.state.data.artifacts[key] ?? { artifact: artifact.name, tag };
        const fresh = freshnessOf(status, this.now(), this.config.staleAfterHours);
        if (stored && fresh.stale) warnings.push(`${key}: ${fresh.text}`);
        if (stored) this.metrics?.record(artifact.name, tag, { stale: fresh.stale });
        artifacts[key] = {
          stored,
          ...(importOnly ? { upstream: 'none (import only)' } : {}),
          ...status,
          ...(stored ? { freshness: fresh.text, stale: fresh.stale, ageSeconds: fresh.ageSeconds } : {}),
        };
      }
    }
    const reasons = [
      ...(missing.length > 0 ? [`not stored yet: ${missing.join(', ')}`] : []),
      ...(notImported.length > 0
        ? [`not imported yet: ${notImported.join(', ')} (no upstream: run \`trivy-mirror import DIR\`)`]
        : []),
      ...(incomplete.length > 0
        ? [`blobs missing in the store: ${incomplete.join(', ')} (import the export again)`]
        : []),
    ];
    const cooling = this.cooldowns.snapshot();
    return {
      ready: reasons.length === 0,
      reason: reasons.length === 0 ? undefined : reasons.join('; '),
      status: {
        artifacts,
        ...(warnings.length > 0 ? { warnings } : {}),
        ...(Object.keys(cooling).length > 0 ? { sourcesCoolingDown: cooling } : {}),
      },
    };
  }
}

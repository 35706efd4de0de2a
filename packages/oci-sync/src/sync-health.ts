// HealthCheck `oci-sync`: ready once every configured artifact/tag has a stored version; the
// status shows per artifact/tag what /status and `trivy-mirror status` print.
import { OciLayout } from '@trivy-mirror/oci';
import type { ArtifactStore, HealthCheck, HealthReport } from '@trivy-mirror/plugin-api';
import type { OciSyncConfig } from './config.js';
import type { SourceCooldowns } from './source-fallback.js';
import { type SyncState, statusKey } from './sync-state.js';

export class OciSyncHealth implements HealthCheck {
  readonly id = 'oci-sync';

  constructor(
    private readonly config: OciSyncConfig,
    private readonly store: ArtifactStore,
    private readonly state: SyncState,
    private readonly cooldowns: SourceCooldowns,
  ) {}

  async check(): Promise<HealthReport> {
    await this.state.load();
    const missing: string[] = [];
    const artifacts: Record<string, unknown> = {};
    for (const artifact of this.config.artifacts) {
      let tags: string[] = [];
      try {
        tags = await (await OciLayout.open(this.store.layoutPath(artifact.name))).tags();
      } catch {
        // no layout yet
      }
      for (const tag of artifact.tags) {
        const key = statusKey(artifact.name, tag);
        const stored = tags.includes(tag);
        if (!stored) missing.push(key);
        artifacts[key] = { stored, ...this.state.data.artifacts[key] };
      }
    }
    const cooling = this.cooldowns.snapshot();
    return {
      ready: missing.length === 0,
      reason: missing.length === 0 ? undefined : `not stored yet: ${missing.join(', ')}`,
      status: { artifacts, ...(Object.keys(cooling).length > 0 ? { sourcesCoolingDown: cooling } : {}) },
    };
  }
}

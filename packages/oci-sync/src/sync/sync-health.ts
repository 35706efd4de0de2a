// HealthCheck `oci-sync`: ready once every configured artifact/tag has a complete stored version
// (without an upstream, `sources: []`, that is "holds a complete imported version"); the status shows
// per artifact/tag what /status and `trivy-mirror status` print, with a freshness line. A stale version
// is a warning (and the trivy_mirror_artifact_stale metric), never a reason to be unready. A damaged
// version (a blob missing or quarantined, a torn index.json) is: the reason names it and what repairs
// it, and the check reports it (StoreDamage), so that a sync is requested even when no client asked.
import { isOciError, OciErrorCode, OciLayout } from '@trivy-mirror/oci';
import type { ArtifactStore, HealthCheck, HealthReport } from '@trivy-mirror/plugin-api';
import type { OciSyncConfig } from '../config.js';
import type { SourceCooldowns } from './source-fallback.js';
import type { ServedTrust } from '../trust/served-trust.js';
import type { StoreDamage } from '../store/store-damage.js';
import { freshnessOf } from '../metadata/store-freshness.js';
import { upstreamsOf } from './store-inspect.js';
import type { SyncMetrics } from './sync-metrics.js';
import { type SyncState, statusKey } from './sync-state.js';
import { type VersionDamage, versionDamage } from '../store/version-blobs.js';

export class OciSyncHealth implements HealthCheck {
  readonly id = 'oci-sync';

  constructor(
    private readonly config: OciSyncConfig,
    private readonly store: ArtifactStore,
    private readonly state: SyncState,
    private readonly cooldowns: SourceCooldowns,
    private readonly now: () => Date = () => new Date(),
    private readonly metrics?: SyncMetrics,
    private readonly damage?: StoreDamage,
    private readonly trust?: ServedTrust,
  ) {
    metrics?.onCollect(() => this.check());
  }

  async check(): Promise<HealthReport> {
    await this.state.load();
    await this.damage?.prune();
    const missing: string[] = [];
    const notImported: string[] = [];
    const damaged: string[] = [];
    const warnings: string[] = [];
    const artifacts: Record<string, unknown> = {};
    for (const artifact of this.config.artifacts) {
      let tags: string[] = [];
      let layout: OciLayout | undefined;
      const importOnly = upstreamsOf(artifact, this.config.sources).length === 0;
      try {
        layout = await OciLayout.open(this.store.layoutPath(artifact.name));
        tags = await layout.tags();
      } catch (err) {
        // no layout yet, unless index.json is there and damaged
        if (layout && isOciError(err, OciErrorCode.LAYOUT_INVALID)) {
          damaged.push(
            `${artifact.name} (${(err as Error).message}; oci-sync rebuilds it from the blobs${importOnly ? '' : ' and upstream'}: see the runbook, "Store damaged")`,
          );
          this.report(artifact.name, undefined, (err as Error).message);
          continue;
        }
      }
      for (const tag of artifact.tags) {
        const key = statusKey(artifact.name, tag);
        let stored = tags.includes(tag);
        const damage = stored && layout ? await this.versionDamage(layout, tag) : undefined;
        if (damage) {
          stored = false;
          damaged.push(`${key} (${this.describe(artifact.name, tag, damage, importOnly)})`);
          // also when known: a sync failed meanwhile (upstream down) is asked for again, backed off
          for (const d of damage.blobs) this.report(artifact.name, d, damage.reason);
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
          ...(damage ? { damaged: { ...damage, serving: this.damage?.fallbackOf(artifact.name, tag) } } : {}),
        };
      }
    }
    const untrusted = this.trust?.describeRefused() ?? [];
    const reasons = [
      ...(missing.length > 0 ? [`not stored yet: ${missing.join(', ')}`] : []),
      ...(notImported.length > 0
        ? [`not imported yet: ${notImported.join(', ')} (no upstream: run \`trivy-mirror import DIR\`)`]
        : []),
      ...(damaged.length > 0 ? [`damaged in the store: ${damaged.join(', ')}`] : []),
      ...(untrusted.length > 0 ? [`not trusted in the store: ${untrusted.join(', ')}`] : []),
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

  private async versionDamage(layout: OciLayout, tag: string): Promise<VersionDamage | undefined> {
    try {
      const current = await layout.resolve(tag);
      return current ? await versionDamage(layout, current.digest) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The version, what is wrong with it, and what repairs it. */
  private describe(repository: string, tag: string, damage: VersionDamage, importOnly: boolean): string {
    const what = `version ${damage.digest}: ${this.damage?.describe(repository, damage) ?? damage.reason}`;
    if (!importOnly) return `${what}; fetching it again`;
    const serving = this.damage?.fallbackOf(repository, tag);
    return (
      `${what}${serving ? `; serving the older version ${serving} meanwhile` : ''}; no upstream: ` +
      `import an export that holds ${repository}:${tag}@${damage.digest} (\`trivy-mirror import DIR\`)`
    );
  }

  private report(repository: string, digest: string | undefined, reason: string): void {
    void this.damage?.check({ repository, digest, reason, reporter: 'health' });
  }
}

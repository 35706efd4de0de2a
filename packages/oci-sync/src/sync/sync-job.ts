// The `oci-sync` job: every configured artifact/tag through syncArtifactTag, a few at a time;
// events, metrics and the status record afterwards. One failing artifact never stops the others.
import { OciLayout, type Transport } from '@trivy-mirror/oci';
import {
  type ArtifactStore,
  describeError,
  errorCode,
  type EventBus,
  type Job,
  type JobContext,
  type JobOutcome,
  type Logger,
  MirrorError,
  type Trust,
  type Signing,
} from '@trivy-mirror/plugin-api';
import { syncArtifactTag } from './artifact-sync.js';
import type { ArtifactSyncDeps, ArtifactTagResult } from './artifact-sync-types.js';
import type { ArtifactConfig, OciSyncConfig } from '../config.js';
import { ROLLBACK_REFUSED } from '../rollback/rollback-guard.js';
import { ServedTrust } from '../trust/served-trust.js';
import { SourceCooldowns } from './source-fallback.js';
import { MetadataFollowUp } from '../metadata/metadata-follow-up.js';
import { inspectStoredTag, upstreamsOf } from './store-inspect.js';
import { StoreDamage } from '../store/store-damage.js';
import { freshnessOf } from '../metadata/store-freshness.js';
import type { SyncMetrics } from './sync-metrics.js';
import type { SyncState } from './sync-state.js';

export const OCI_SYNC_JOB_ID = 'oci-sync';

export interface OciSyncJobDeps {
  config: OciSyncConfig;
  registry: Transport;
  store: ArtifactStore;
  events: EventBus;
  metrics: SyncMetrics;
  state: SyncState;
  now: () => Date;
  /** The plugin's logger, for what happens outside a run (damage reports). */
  logger?: Logger;
  /** Top-level `trust:` (the inside's trusted keys). */
  trust?: Trust;
  /** Signs each version the sync stores (top-level `signing:`). */
  signing?: Signing;
}

export class OciSyncJob implements Job {
  readonly id = OCI_SYNC_JOB_ID;
  readonly description: string;
  readonly schedule: string;
  readonly runOnStart = true;
  readonly triggers = ['sync.requested' as const];
  readonly cooldowns: SourceCooldowns;
  /** metadata.json of new db layers, read after each run (stopped with the plugin). */
  readonly metadata: MetadataFollowUp;
  /** Damage readers report in the store: quarantine, /readyz, fallbacks without an upstream. */
  readonly damage: StoreDamage;
  /** Signers of the served versions; untrusted ones refused with trust.require. */
  readonly servedTrust: ServedTrust;

  get state(): SyncState {
    return this.deps.state;
  }

  get metrics(): SyncMetrics {
    return this.deps.metrics;
  }

  readonly now = (): Date => this.deps.now();

  constructor(private readonly deps: OciSyncJobDeps) {
    this.schedule = deps.config.schedule;
    this.description = deps.config.artifacts.every((a) => upstreamsOf(a, deps.config.sources).length === 0)
      ? 'Check the imported store (no upstream, sources: []) and push it to destinations; `trivy-mirror import` updates it'
      : 'Sync Trivy OCI artifacts: upstream → local store → destinations';
    this.cooldowns = new SourceCooldowns(() => deps.now().getTime());
    this.damage = new StoreDamage({
      config: deps.config,
      store: deps.store,
      events: deps.events,
      logger: deps.logger,
      now: deps.now,
    });
    this.servedTrust = new ServedTrust(deps.trust, deps.logger);
    this.metadata = new MetadataFollowUp({
      store: deps.store,
      state: deps.state,
      metrics: deps.metrics,
      now: deps.now,
      staleAfterHours: deps.config.staleAfterHours,
    });
  }

  async run(ctx: JobContext): Promise<JobOutcome> {
    const { config, state } = this.deps;
    await state.load();
    // the previous run's metadata read shares the state records: let it finish first
    await this.metadata.settled();
    if (config.artifacts.length === 0)
      return { status: 'skipped', summary: 'no artifacts configured: nothing to sync' };
    // a signing key that cannot be used stops the run before anything is stored unsigned
    await this.deps.signing?.key();
    const units = config.artifacts.flatMap((artifact) => artifact.tags.map((tag) => ({ artifact, tag })));
    const importOnly = config.artifacts.filter((a) => upstreamsOf(a, config.sources).length === 0);
    if (importOnly.length > 0 && ctx.reason.startsWith('event:sync.requested')) {
      ctx.logger.info(
        { artifacts: importOnly.map((a) => a.name) },
        'sync requested, but these artifacts have no upstream (sources: []): only checking the store; import a newer export to update them',
      );
    }
    const results = await mapLimit(units, config.concurrency, ({ artifact, tag }) =>
      this.one(ctx, artifact, tag),
    );
    await this.damage.prune();
    try {
      await state.save();
    } catch (err) {
      ctx.logger.warn({ err }, 'cannot save oci-sync state');
    }
    this.metadata.start(
      units.map(({ artifact, tag }) => ({ artifact: artifact.name, tag })),
      ctx.logger,
    );

    const failed = results.filter((r) => !r.ok);
    const changed = results.filter((r) => r.changed);
    const repaired = results.filter((r) => r.repaired);
    const pushed = results.flatMap((r) => r.destinations.filter((d) => d.pushed).map((d) => d.reference));
    const bytes = results.reduce((n, r) => n + r.bytesDownloaded + r.bytesPushed, 0);
    const details = {
      artifacts: results.map((r) => ({
        artifact: r.artifact,
        tag: r.tag,
        ok: r.ok,
        changed: r.changed,
        repaired: r.repaired,
        source: r.source,
        digest: r.digest,
        layerDigest: r.layer?.digest,
        bytesDownloaded: r.bytesDownloaded,
        bytesPushed: r.bytesPushed,
        pushed: r.destinations.filter((d) => d.pushed).map((d) => d.reference),
        durationMs: r.durationMs,
        error: r.error === undefined ? undefined : describeError(r.error),
        code: r.error === undefined ? undefined : errorCode(r.error),
      })),
    };
    if (failed.length > 0) {
      // only refused rollbacks: the code says what the operator has to decide
      const refusals = failed.every((r) => errorCode(r.error) === ROLLBACK_REFUSED);
      const err = new MirrorError(
        refusals ? ROLLBACK_REFUSED : 'SYNC_FAILED',
        `${failed.length} of ${results.length} artifact tags failed: ${failed.map((r) => describeError(r.error)).join(' | ')}`,
        { cause: failed[0].error },
      );
      Object.assign(err, { details });
      throw err;
    }
    const idle = changed.length === 0 && pushed.length === 0 && repaired.length === 0;
    const fixed =
      repaired.length > 0
        ? `, ${repaired.length} repaired (${repaired.map((r) => `${r.artifact}:${r.tag}`).join(', ')})`
        : '';
    const summary = idle
      ? `${results.length} artifact tags up to date`
      : `${changed.length} updated (${changed.map((r) => `${r.artifact}:${r.tag}`).join(', ') || 'none'}), ${pushed.length} pushed${fixed}`;
    return {
      status: idle ? 'skipped' : 'success',
      summary,
      bytes,
      details,
    };
  }

  private async one(ctx: JobContext, artifact: ArtifactConfig, tag: string): Promise<ArtifactTagResult> {
    const { deps } = this;
    const log = ctx.logger.child({ artifact: artifact.name, tag });
    const syncDeps: ArtifactSyncDeps = {
      registry: deps.registry,
      store: deps.store,
      config: deps.config,
      state: deps.state,
      cooldowns: this.cooldowns,
      logger: log,
      now: deps.now,
      signal: ctx.signal,
      damage: this.damage,
      servedTrust: this.servedTrust,
      signing: deps.signing,
      onProgress: throttledProgress((item, bytes, total) =>
        deps.events.emit('job.progress', {
          job: 'oci-sync',
          item: `${artifact.name}:${item}`,
          bytes,
          total,
        }),
      ),
    };
    const importOnly = upstreamsOf(artifact, deps.config.sources).length === 0;
    const r = importOnly
      ? await inspectStoredTag(syncDeps, artifact, tag)
      : await syncArtifactTag(syncDeps, artifact, tag);
    const status = deps.state.get(artifact.name, tag);
    if (!importOnly && r.digest && this.servedTrust.enabled) {
      // who signed what a sync serves (its own key, with signing:), for /status
      const layout = await OciLayout.open(r.layoutPath).catch(() => undefined);
      if (layout)
        await this.servedTrust.gate(layout, artifact.name, tag, r.digest, status, { recordOnly: true });
    }
    const fresh = freshnessOf(status, deps.now(), deps.config.staleAfterHours);
    deps.metrics.record(artifact.name, tag, {
      updatedAt: status.updatedAt,
      nextUpdate: status.nextUpdate,
      importedAt: status.importedAt,
      stale: r.digest ? fresh.stale : undefined,
      bytes: r.bytesDownloaded + r.bytesPushed,
    });
    if (r.digest && fresh.stale) log.warn({ freshness: fresh.text }, 'stored version is stale');
    deps.metrics.recordPushes(artifact.name, tag, r.destinations);
    if (r.digest && r.layer) {
      // Emitted on every confirmed version; `changed` tells listeners whether to act.
      deps.events.emit('artifact.stored', {
        repository: artifact.name,
        tag,
        digest: r.digest,
        layer: {
          digest: r.layer.digest,
          mediaType: r.layer.mediaType,
          size: r.layer.size,
          title: r.layer.title,
        },
        layoutPath: r.layoutPath,
        changed: r.changed,
      });
    }
    if (r.ok) {
      log.info(
        {
          digest: r.digest,
          source: r.source,
          changed: r.changed,
          bytes: r.bytesDownloaded + r.bytesPushed,
          ms: r.durationMs,
        },
        r.repaired
          ? 'damaged version fetched again'
          : r.changed
            ? importOnly
              ? 'new version found in the store (imported)'
              : 'synced'
            : 'up to date',
      );
    } else {
      log.error({ err: r.error, ms: r.durationMs }, importOnly ? 'store check failed' : 'sync failed');
    }
    return r;
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}

/** At most ~10 progress events a second per item, plus the last one. */
function throttledProgress(
  emit: (item: string, bytes: number, total: number) => void,
): (item: string, bytes: number, total: number) => void {
  const last = new Map<string, number>();
  return (item, bytes, total) => {
    const now = Date.now();
    if (bytes < total && now - (last.get(item) ?? 0) < 100) return;
    last.set(item, now);
    emit(item, bytes, total);
  };
}

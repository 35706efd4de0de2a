// The `oci-sync` job: every configured artifact/tag through syncArtifactTag, a few at a time;
// events, metrics and the status record afterwards. One failing artifact never stops the others.
import type { Transport } from '@trivy-mirror/oci';
import {
  type ArtifactStore,
  describeError,
  type EventBus,
  type Job,
  type JobContext,
  type JobOutcome,
  MirrorError,
} from '@trivy-mirror/plugin-api';
import { type ArtifactTagResult, syncArtifactTag } from './artifact-sync.js';
import type { ArtifactConfig, OciSyncConfig } from './config.js';
import { SourceCooldowns } from './source-fallback.js';
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
}

export class OciSyncJob implements Job {
  readonly id = OCI_SYNC_JOB_ID;
  readonly description = 'Sync Trivy OCI artifacts: upstream → local store → destinations';
  readonly schedule: string;
  readonly runOnStart = true;
  readonly triggers = ['sync.requested' as const];
  readonly cooldowns: SourceCooldowns;

  get state(): SyncState {
    return this.deps.state;
  }

  constructor(private readonly deps: OciSyncJobDeps) {
    this.schedule = deps.config.schedule;
    this.cooldowns = new SourceCooldowns(() => deps.now().getTime());
  }

  async run(ctx: JobContext): Promise<JobOutcome> {
    const { config, state } = this.deps;
    await state.load();
    const units = config.artifacts.flatMap((artifact) => artifact.tags.map((tag) => ({ artifact, tag })));
    const results = await mapLimit(units, config.concurrency, ({ artifact, tag }) =>
      this.one(ctx, artifact, tag),
    );
    try {
      await state.save();
    } catch (err) {
      ctx.logger.warn({ err }, 'cannot save oci-sync state');
    }

    const failed = results.filter((r) => !r.ok);
    const changed = results.filter((r) => r.changed);
    const pushed = results.flatMap((r) => r.destinations.filter((d) => d.pushed).map((d) => d.reference));
    const bytes = results.reduce((n, r) => n + r.bytesDownloaded + r.bytesPushed, 0);
    const details = {
      artifacts: results.map((r) => ({
        artifact: r.artifact,
        tag: r.tag,
        ok: r.ok,
        changed: r.changed,
        source: r.source,
        digest: r.digest,
        layerDigest: r.layer?.digest,
        bytesDownloaded: r.bytesDownloaded,
        bytesPushed: r.bytesPushed,
        pushed: r.destinations.filter((d) => d.pushed).map((d) => d.reference),
        durationMs: r.durationMs,
        error: r.error === undefined ? undefined : describeError(r.error),
      })),
    };
    if (failed.length > 0) {
      const err = new MirrorError(
        'SYNC_FAILED',
        `${failed.length} of ${results.length} artifact tags failed: ${failed.map((r) => describeError(r.error)).join(' | ')}`,
        { cause: failed[0].error },
      );
      Object.assign(err, { details });
      throw err;
    }
    const summary =
      changed.length === 0 && pushed.length === 0
        ? `${results.length} artifact tags up to date`
        : `${changed.length} updated (${changed.map((r) => `${r.artifact}:${r.tag}`).join(', ') || 'none'}), ${pushed.length} pushed`;
    return {
      status: changed.length === 0 && pushed.length === 0 ? 'skipped' : 'success',
      summary,
      bytes,
      details,
    };
  }

  private async one(ctx: JobContext, artifact: ArtifactConfig, tag: string): Promise<ArtifactTagResult> {
    const { deps } = this;
    const log = ctx.logger.child({ artifact: artifact.name, tag });
    const r = await syncArtifactTag(
      {
        registry: deps.registry,
        store: deps.store,
        config: deps.config,
        state: deps.state,
        cooldowns: this.cooldowns,
        logger: log,
        now: deps.now,
        signal: ctx.signal,
        onProgress: throttledProgress((item, bytes, total) =>
          deps.events.emit('job.progress', {
            job: 'oci-sync',
            item: `${artifact.name}:${item}`,
            bytes,
            total,
          }),
        ),
      },
      artifact,
      tag,
    );
    const status = deps.state.get(artifact.name, tag);
    deps.metrics.record(artifact.name, tag, {
      updatedAt: status.updatedAt,
      nextUpdate: status.nextUpdate,
      bytes: r.bytesDownloaded + r.bytesPushed,
    });
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
        r.changed ? 'synced' : 'up to date',
      );
    } else {
      log.error({ err: r.error, ms: r.durationMs }, 'sync failed');
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

// metadata.json (UpdatedAt, NextUpdate) of newly stored db layers, read after the sync job has put
// the versions on the destinations. It is the tarball's last entry, so reading it inflates the whole
// layer (~1.5 s of CPU per GB): done during the download, it competed with the transfer on small
// machines. Until it is read, /status shows the version without its age; stopping abandons the read,
// and the next run reads it (the record stays pending in the state file).
import { OciLayout } from '@trivy-mirror/oci';
import type { ArtifactStore, Logger } from '@trivy-mirror/plugin-api';
import { metadataPending, readStoredMetadata } from './record-stored.js';
import { freshnessOf } from './store-freshness.js';
import type { SyncMetrics } from '../sync/sync-metrics.js';
import type { SyncState } from '../sync/sync-state.js';

export interface MetadataFollowUpDeps {
  store: ArtifactStore;
  state: SyncState;
  metrics: SyncMetrics;
  now: () => Date;
  staleAfterHours: number;
}

export class MetadataFollowUp {
  #running: Promise<void> = Promise.resolve();
  #stop = new AbortController();

  constructor(private readonly deps: MetadataFollowUpDeps) {}

  /** Reads, one after the other and in the background, the pending metadata of `units`. */
  start(units: { artifact: string; tag: string }[], logger: Logger): void {
    const pending = units.filter((u) => metadataPending(this.deps.state.get(u.artifact, u.tag)));
    if (pending.length === 0 || this.#stop.signal.aborted) return;
    // a read that throws must not leave a rejected chain behind: the next run awaits it
    this.#running = this.#running
      .then(() => this.#read(pending, logger))
      .catch((err: unknown) => logger.warn({ err }, 'reading metadata.json after the sync failed'));
  }

  /** Resolves once every read started so far has ended (read, failed or abandoned). */
  settled(): Promise<void> {
    return this.#running;
  }

  /** Abandons the read under way (it stays pending) and starts no new one. */
  async stop(): Promise<void> {
    this.#stop.abort(new Error('oci-sync is stopping'));
    await this.#running;
  }

  async #read(units: { artifact: string; tag: string }[], logger: Logger): Promise<void> {
    const { state, store, metrics, now, staleAfterHours } = this.deps;
    const signal = this.#stop.signal;
    let read = 0;
    for (const { artifact, tag } of units) {
      const status = state.get(artifact, tag);
      if (signal.aborted || !metadataPending(status)) continue;
      const started = performance.now();
      try {
        const layout = await OciLayout.open(store.layoutPath(artifact));
        await readStoredMetadata({ logger }, layout, status, signal);
      } catch (err) {
        logger.warn({ artifact, tag, err }, 'cannot open the store to read metadata.json');
        continue;
      }
      if (status.metadataRead !== status.layerDigest) continue;
      read++;
      const fresh = freshnessOf(status, now(), staleAfterHours);
      metrics.record(artifact, tag, {
        updatedAt: status.updatedAt,
        nextUpdate: status.nextUpdate,
        stale: fresh.stale,
      });
      if (fresh.stale) logger.warn({ artifact, tag, freshness: fresh.text }, 'stored version is stale');
      logger.debug(
        { artifact, tag, updatedAt: status.updatedAt, ms: Math.round(performance.now() - started) },
        'metadata.json read from the store',
      );
    }
    if (read === 0) return;
    try {
      await state.save();
    } catch (err) {
      logger.warn({ err }, 'cannot save oci-sync state');
    }
  }
}

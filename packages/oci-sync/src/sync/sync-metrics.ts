// Prometheus metrics of oci-sync, registered in the runtime's registry (Metrics service).
import type { MetricsRegistry } from '@trivy-mirror/plugin-api';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DestinationResult } from './artifact-sync-types.js';

type PushLabels = 'artifact' | 'tag' | 'destination';

type TagGauge = Gauge<'artifact' | 'tag'>;

/** Per registry: recomputes the freshness gauges right before a scrape (set by the health check). */
const refreshers = new WeakMap<Registry, () => Promise<unknown>>();

export class SyncMetrics {
  readonly updated: TagGauge;
  readonly nextUpdate: TagGauge;
  readonly imported: TagGauge;
  readonly stale: TagGauge;
  readonly bytes: Counter<'artifact'>;
  /** Runs `refresh` before every scrape of the stale gauge (the time passes without any job run). */
  readonly onCollect: (refresh: () => Promise<unknown>) => void;
  readonly pushFailures: Counter<PushLabels>;
  readonly pushFailing: Gauge<PushLabels>;

  /** `metricsRegistry`: the Metrics service's registry, a prom-client Registry at run time. */
  constructor(metricsRegistry: MetricsRegistry) {
    const registry = metricsRegistry as Registry;
    // Reuse a metric if a module was loaded twice into the same registry (tests, reloads).
    const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
    const gauge = (name: string, help: string, collect?: () => Promise<void>): TagGauge =>
      existing<TagGauge>(name) ??
      new Gauge({ name, help, labelNames: ['artifact', 'tag'], registers: [registry], collect });
    this.updated = gauge(
      'trivy_mirror_artifact_updated_timestamp_seconds',
      'UpdatedAt of the stored artifact (metadata.json), as a Unix timestamp',
    );
    this.nextUpdate = gauge(
      'trivy_mirror_artifact_next_update_timestamp_seconds',
      'NextUpdate of the stored artifact (metadata.json), as a Unix timestamp',
    );
    this.imported = gauge(
      'trivy_mirror_artifact_imported_timestamp_seconds',
      'When the stored version came by `trivy-mirror import`, as a Unix timestamp',
    );
    this.stale = gauge(
      'trivy_mirror_artifact_stale',
      '1 when the stored version is stale: NextUpdate (trivy-checks: its import or last sync) more than staleAfterHours ago',
      async () => {
        await refreshers.get(registry)?.();
      },
    );
    this.onCollect = (refresh) => refreshers.set(registry, refresh);
    this.bytes =
      existing<Counter<'artifact'>>('trivy_mirror_sync_bytes_total') ??
      new Counter({
        name: 'trivy_mirror_sync_bytes_total',
        help: 'Bytes moved by oci-sync (downloaded into the store and pushed to destinations)',
        labelNames: ['artifact'],
        registers: [registry],
      });
    type PushConfig = { name: string; help: string; labelNames: PushLabels[]; registers: Registry[] };
    const perDestination = <M>(Kind: new (config: PushConfig) => M, name: string, help: string): M =>
      existing<M>(name) ??
      new Kind({ name, help, labelNames: ['artifact', 'tag', 'destination'], registers: [registry] });
    this.pushFailures = perDestination(
      Counter<PushLabels>,
      'trivy_mirror_destination_push_failures_total',
      'Failed pushes of an artifact tag to a destination registry',
    );
    this.pushFailing = perDestination(
      Gauge<PushLabels>,
      'trivy_mirror_destination_push_failing',
      '1 while the last push of an artifact tag to a destination failed, else 0',
    );
  }

  /** Per destination: a failure counts and sets the flag; a push or an up-to-date check clears it. */
  recordPushes(artifact: string, tag: string, results: readonly DestinationResult[]): void {
    for (const d of results) {
      const labels = { artifact, tag, destination: d.destination };
      this.pushFailures.inc(labels, d.error ? 1 : 0);
      this.pushFailing.set(labels, d.error ? 1 : 0);
    }
  }

  record(
    artifact: string,
    tag: string,
    values: { updatedAt?: string; nextUpdate?: string; importedAt?: string; stale?: boolean; bytes?: number },
  ): void {
    const seconds = (iso?: string) =>
      iso && !Number.isNaN(Date.parse(iso)) ? Date.parse(iso) / 1000 : undefined;
    const set = (g: TagGauge, v: number | undefined) => {
      if (v !== undefined) g.set({ artifact, tag }, v);
    };
    set(this.updated, seconds(values.updatedAt));
    set(this.nextUpdate, seconds(values.nextUpdate));
    set(this.imported, seconds(values.importedAt));
    set(this.stale, values.stale === undefined ? undefined : values.stale ? 1 : 0);
    if (values.bytes) this.bytes.inc({ artifact }, values.bytes);
  }
}

// Prometheus metrics of oci-sync, registered in the runtime's registry (Metrics service).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DestinationResult } from './artifact-sync.js';

type PushLabels = 'artifact' | 'tag' | 'destination';

export class SyncMetrics {
  readonly updated: Gauge<'artifact' | 'tag'>;
  readonly nextUpdate: Gauge<'artifact' | 'tag'>;
  readonly bytes: Counter<'artifact'>;
  readonly pushFailures: Counter<PushLabels>;
  readonly pushFailing: Gauge<PushLabels>;

  constructor(registry: Registry) {
    // Reuse a metric if a module was loaded twice into the same registry (tests, reloads).
    const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
    this.updated =
      existing<Gauge<'artifact' | 'tag'>>('trivy_mirror_artifact_updated_timestamp_seconds') ??
      new Gauge({
        name: 'trivy_mirror_artifact_updated_timestamp_seconds',
        help: 'UpdatedAt of the stored artifact (metadata.json), as a Unix timestamp',
        labelNames: ['artifact', 'tag'],
        registers: [registry],
      });
    this.nextUpdate =
      existing<Gauge<'artifact' | 'tag'>>('trivy_mirror_artifact_next_update_timestamp_seconds') ??
      new Gauge({
        name: 'trivy_mirror_artifact_next_update_timestamp_seconds',
        help: 'NextUpdate of the stored artifact (metadata.json), as a Unix timestamp',
        labelNames: ['artifact', 'tag'],
        registers: [registry],
      });
    this.bytes =
      existing<Counter<'artifact'>>('trivy_mirror_sync_bytes_total') ??
      new Counter({
        name: 'trivy_mirror_sync_bytes_total',
        help: 'Bytes moved by oci-sync (downloaded into the store and pushed to destinations)',
        labelNames: ['artifact'],
        registers: [registry],
      });
    this.pushFailures =
      existing<Counter<PushLabels>>('trivy_mirror_destination_push_failures_total') ??
      new Counter({
        name: 'trivy_mirror_destination_push_failures_total',
        help: 'Failed pushes of an artifact tag to a destination registry',
        labelNames: ['artifact', 'tag', 'destination'],
        registers: [registry],
      });
    this.pushFailing =
      existing<Gauge<PushLabels>>('trivy_mirror_destination_push_failing') ??
      new Gauge({
        name: 'trivy_mirror_destination_push_failing',
        help: '1 while the last push of an artifact tag to a destination failed, else 0',
        labelNames: ['artifact', 'tag', 'destination'],
        registers: [registry],
      });
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
    values: { updatedAt?: string; nextUpdate?: string; bytes?: number },
  ): void {
    const seconds = (iso?: string) =>
      iso && !Number.isNaN(Date.parse(iso)) ? Date.parse(iso) / 1000 : undefined;
    const u = seconds(values.updatedAt);
    if (u !== undefined) this.updated.set({ artifact, tag }, u);
    const n = seconds(values.nextUpdate);
    if (n !== undefined) this.nextUpdate.set({ artifact, tag }, n);
    if (values.bytes) this.bytes.inc({ artifact }, values.bytes);
  }
}

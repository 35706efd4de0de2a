// Prometheus gauges for mirrored VEX repositories, registered on the runtime's registry.
import { Gauge, type Registry } from 'prom-client';
import type { PublishedVersion } from './version-store.js';

export class VexMetrics {
  private readonly updated: Gauge<'repository'>;
  private readonly fetched: Gauge<'repository'>;

  constructor(registry: Registry) {
    // A second container on the same registry (tests, reloads) reuses the gauges instead of throwing.
    this.updated =
      (registry.getSingleMetric('trivy_mirror_vex_updated_timestamp_seconds') as
        | Gauge<'repository'>
        | undefined) ??
      new Gauge({
        name: 'trivy_mirror_vex_updated_timestamp_seconds',
        help: 'updated_at of the served VEX repository index (unix seconds)',
        labelNames: ['repository'],
        registers: [registry],
      });
    this.fetched =
      (registry.getSingleMetric('trivy_mirror_vex_fetched_timestamp_seconds') as
        | Gauge<'repository'>
        | undefined) ??
      new Gauge({
        name: 'trivy_mirror_vex_fetched_timestamp_seconds',
        help: 'Last successful check of the VEX repository source (unix seconds)',
        labelNames: ['repository'],
        registers: [registry],
      });
  }

  record(p: PublishedVersion): void {
    const updated = Date.parse(p.updatedAt);
    if (Number.isFinite(updated)) this.updated.set({ repository: p.repository }, updated / 1000);
    const fetched = Date.parse(p.fetchedAt);
    if (Number.isFinite(fetched)) this.fetched.set({ repository: p.repository }, fetched / 1000);
  }
}

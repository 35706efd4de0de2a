// Prometheus gauges of cache-populator: age and staleness of every populated part of every target.
import type { Metrics } from '@trivy-mirror/plugin-api';
import { Gauge, type Registry } from 'prom-client';

type PartLabels = 'dir' | 'part';

export class CacheMetrics {
  readonly #age: Gauge<PartLabels>;
  readonly #stale: Gauge<PartLabels>;

  constructor(metrics: Metrics) {
    // The Metrics service's registry is a prom-client Registry at run time.
    const registry = metrics.registry as Registry;
    // Reuse on re-creation (tests, reloads): prom-client refuses a second metric of the same name.
    const gauge = (name: string, help: string) =>
      (registry.getSingleMetric(name) as Gauge<PartLabels> | undefined) ??
      new Gauge({ name, help, labelNames: ['dir', 'part'], registers: [registry] });
    this.#age = gauge(
      'trivy_mirror_cache_db_age_seconds',
      'Age of each populated cache part: now minus UpdatedAt (DownloadedAt for checks and VEX).',
    );
    this.#stale = gauge(
      'trivy_mirror_cache_part_stale',
      '1 while a cache part is past its NextUpdate plus staleGraceMinutes, else 0.',
    );
  }

  age(dir: string, part: string, seconds: number): void {
    this.#age.set({ dir, part }, seconds);
  }

  stale(dir: string, part: string, stale: boolean): void {
    this.#stale.set({ dir, part }, stale ? 1 : 0);
  }
}

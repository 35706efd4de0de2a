// Prometheus gauges for mirrored VEX repositories, registered on the runtime's registry.
import type { MetricsRegistry } from '@trivy-mirror/plugin-api';
import { Gauge, type Registry } from 'prom-client';
import { goDurationSeconds } from './versions/go-duration.js';
import { parseManifest, SPEC_VERSION } from './versions/vex-manifest.js';
import type { PublishedVersion } from './versions/version-store.js';

/**
 * What the gauge shows for a served manifest without a usable update_interval (only one stored before
 * the mirror refused those: Trivy itself takes a missing one as 0, a re-check on every scan).
 */
export const DEFAULT_UPDATE_INTERVAL_SECONDS = 24 * 3600;

const GAUGES = {
  updated: [
    'trivy_mirror_vex_updated_timestamp_seconds',
    'updated_at of the served VEX repository index (unix seconds)',
  ],
  fetched: [
    'trivy_mirror_vex_fetched_timestamp_seconds',
    'Last successful check of the VEX repository source (unix seconds)',
  ],
  interval: [
    'trivy_mirror_vex_update_interval_seconds',
    'update_interval of the served VEX repository manifest (24h when it names none)',
  ],
  size: ['trivy_mirror_vex_archive_size_bytes', 'Size of the served VEX repository archive'],
} as const;

/** update_interval of the spec version Trivy reads, in seconds. */
export function updateIntervalSeconds(manifest: Buffer | undefined): number {
  if (!manifest) return DEFAULT_UPDATE_INTERVAL_SECONDS;
  try {
    const { version } = parseManifest(manifest.toString('utf8'));
    if (version.spec_version !== SPEC_VERSION || !version.update_interval)
      return DEFAULT_UPDATE_INTERVAL_SECONDS;
    return goDurationSeconds(version.update_interval) ?? DEFAULT_UPDATE_INTERVAL_SECONDS;
  } catch {
    return DEFAULT_UPDATE_INTERVAL_SECONDS;
  }
}

export class VexMetrics {
  private readonly gauges: Record<keyof typeof GAUGES, Gauge<'repository'>>;

  /** `metricsRegistry`: the Metrics service's registry, a prom-client Registry at run time. */
  constructor(metricsRegistry: MetricsRegistry) {
    const registry = metricsRegistry as Registry;
    // A second container on the same registry (tests, reloads) reuses the gauges instead of throwing.
    const gauge = ([name, help]: readonly [string, string]) =>
      (registry.getSingleMetric(name) as Gauge<'repository'> | undefined) ??
      new Gauge({ name, help, labelNames: ['repository'], registers: [registry] });
    this.gauges = {
      updated: gauge(GAUGES.updated),
      fetched: gauge(GAUGES.fetched),
      interval: gauge(GAUGES.interval),
      size: gauge(GAUGES.size),
    };
  }

  record(p: PublishedVersion, manifest?: Buffer): void {
    const labels = { repository: p.repository };
    const updated = Date.parse(p.updatedAt);
    if (Number.isFinite(updated)) this.gauges.updated.set(labels, updated / 1000);
    const fetched = Date.parse(p.fetchedAt);
    if (Number.isFinite(fetched)) this.gauges.fetched.set(labels, fetched / 1000);
    this.gauges.interval.set(labels, updateIntervalSeconds(manifest));
    this.gauges.size.set(labels, p.archiveSize);
  }
}

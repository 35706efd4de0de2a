// The daemon side of `publishRegistryDir`: publishes the store as a static registry tree at start
// and after every stored version (artifact.stored), one run at a time; requests that arrive while
// a run is busy fold into one more run, so the tree never lags the store by more than one pass.
import {
  type ArtifactStore,
  describeError,
  type EventBus,
  type LifecycleContribution,
  type Logger,
  type MetricsRegistry,
} from '@trivy-mirror/plugin-api';
import { Counter, Gauge, type Registry } from 'prom-client';
import { publishRegistryTree } from './registry-tree.js';

export class RegistryTreePublisher implements LifecycleContribution {
  readonly id = 'oci-sync-publish';
  #loop: Promise<void> | undefined;
  #dirty = false;
  #off: (() => void) | undefined;
  readonly #lastSuccess: Gauge;
  readonly #failures: Counter;

  constructor(
    readonly outDir: string,
    private readonly store: ArtifactStore,
    private readonly events: EventBus,
    private readonly logger: Logger,
    metricsRegistry: MetricsRegistry,
  ) {
    // the runtime's registry is prom-client's (the contract keeps it opaque)
    const registry = metricsRegistry as Registry;
    const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
    this.#lastSuccess =
      existing<Gauge>('trivy_mirror_publish_last_success_timestamp_seconds') ??
      new Gauge({
        name: 'trivy_mirror_publish_last_success_timestamp_seconds',
        help: 'When the registry tree (publishRegistryDir) last matched the store, as a Unix timestamp',
        registers: [registry],
      });
    this.#failures =
      existing<Counter>('trivy_mirror_publish_failures_total') ??
      new Counter({
        name: 'trivy_mirror_publish_failures_total',
        help: 'Publications of the registry tree that failed (the tree keeps its last good state)',
        registers: [registry],
      });
  }

  async start(): Promise<void> {
    this.#off = this.events.on('artifact.stored', () => this.request());
    // not awaited: a large first copy (another filesystem) must not hold up start-up
    void this.request();
  }

  async stop(): Promise<void> {
    this.#off?.();
    await this.#loop;
  }

  /** Resolves when a run that started after this call has finished (errors are logged, not thrown). */
  request(): Promise<void> {
    this.#dirty = true;
    this.#loop ??= this.#drain().finally(() => {
      this.#loop = undefined;
    });
    return this.#loop;
  }

  async #drain(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      await this.#publishOnce();
    }
  }

  async #publishOnce(): Promise<void> {
    const started = Date.now();
    try {
      const repositories = await this.store.repositories();
      const report = await publishRegistryTree({
        outDir: this.outDir,
        layouts: repositories.map((repository) => ({ repository, dir: this.store.layoutPath(repository) })),
      });
      this.#lastSuccess.set(Date.now() / 1000);
      const moved = report.repositories.flatMap((r) => r.tagsMoved.map((t) => `${r.repository}:${t}`));
      const copied = report.repositories.reduce((n, r) => n + r.bytesCopied, 0);
      const removed = report.repositories.reduce((n, r) => n + r.removed, 0);
      if (moved.length > 0 || copied > 0 || removed > 0) {
        this.logger.info(
          { dir: this.outDir, moved, bytesCopied: copied, removed, ms: Date.now() - started },
          'registry tree published',
        );
      }
    } catch (err) {
      this.#failures.inc();
      this.logger.error(
        { dir: this.outDir, err },
        `publishing the registry tree failed: ${describeError(err)}`,
      );
    }
  }
}

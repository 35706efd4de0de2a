// What the cache populator's roles share: the config, the services they were given, the last
// vex.stored event per repository, per-part health, when each part was last swapped in, and
// whether events arrived during a pass.
import path from 'node:path';
import type {
  ArtifactStore,
  Clock,
  EventBus,
  Logger,
  Metrics,
  PluginContext,
  Trust,
  VexStoredEvent,
} from '@trivy-mirror/plugin-api';
import { isSignatureError, type OciLayout, verifyLayoutVersion } from '@trivy-mirror/oci';
import { describeError, MirrorError } from '@trivy-mirror/plugin-api';
import type { PopulateSource } from '../populate/artifact-source.js';
import type { CachePopulatorConfig } from '../config-schema.js';
import type { PartResult } from '../populate/populate-cache-dir.js';
import type { StaleHealth } from './stale-check.js';
import { cleanupCacheDir } from '../disk/version-swap.js';
import type { VexInput } from '../populate/vex-populate.js';

export const JOB_ID = 'cache-populator';
/** Retired versions stay this long so readers that resolved the old link can finish. */
export const OLD_VERSION_GRACE_MS = 15 * 60_000;

export interface PartHealth extends StaleHealth {
  lastError?: { code?: string; message: string; at: string };
  lastResult?: { status: PartResult['status']; at: string; version?: string };
  lastRepair?: { at: string; reason?: string; repaired: boolean };
}

export interface CachePopulatorDeps {
  clock: Clock;
  events: EventBus;
  store: Pick<ArtifactStore, 'layoutPath'>;
  metrics?: Metrics;
  /** Top-level `trust:`: with require, only versions a trusted key signed are populated. */
  trust?: Trust;
}

/** trust.require: a version no trusted key signed is not populated (UNTRUSTED; the cache keeps what it has). */
async function admitTrusted(
  trust: Trust,
  layout: OciLayout,
  repository: string,
  tag: string,
  digest: string,
) {
  try {
    await verifyLayoutVersion(layout, digest, await trust.keys(), `${repository}:${tag}`);
  } catch (err) {
    if (!isSignatureError(err)) throw err;
    throw new MirrorError(
      'UNTRUSTED',
      `${repository}:${tag}: ${describeError(err)}; not populated (trust.require): import a signed export`,
      { cause: err },
    );
  }
}

export class CachePopulatorState {
  readonly config: CachePopulatorConfig;
  readonly context: PluginContext;
  readonly deps: CachePopulatorDeps;
  readonly log: Logger;
  /** The last vex.stored event per VEX repository. */
  readonly vex = new Map<string, VexStoredEvent>();
  readonly #health = new Map<string, PartHealth>();
  readonly #swappedAt = new Map<string, number>();
  /** Set by events that arrive during a pass: the job runs another one. */
  dirty = false;
  /** Aborted by stop(): work started outside a job (deferred repairs, periodic checks) ends. */
  stopping = new AbortController();

  constructor(config: CachePopulatorConfig, context: PluginContext, deps: CachePopulatorDeps) {
    this.config = config;
    this.context = context;
    this.deps = deps;
    this.log = context.logger;
  }

  now(): Date {
    return this.deps.clock.now();
  }

  get source(): PopulateSource {
    const trust = this.deps.trust;
    return {
      kind: 'store',
      layoutPath: (repo: string) => this.deps.store.layoutPath(repo),
      admit: trust?.enabled && trust.require ? (...args) => admitTrusted(trust, ...args) : undefined,
    };
  }

  get vexFile(): string {
    return path.join(this.context.pluginDir, 'vex-stored.json');
  }

  vexInputs(): VexInput[] {
    return [...this.vex.values()].map((e) => ({
      repository: e.repository,
      contentDir: e.contentDir,
      manifestPath: e.manifestPath,
      etag: e.etag,
    }));
  }

  partHealth(dir: string, key: string): PartHealth {
    const k = `${dir}\0${key}`;
    let h = this.#health.get(k);
    if (!h) {
      h = {};
      this.#health.set(k, h);
    }
    return h;
  }

  markSwapped(dir: string, key: string): void {
    this.#swappedAt.set(`${dir}\0${key}`, this.now().getTime());
  }

  /** Milliseconds since we last swapped in this part (large when never). */
  sinceSwapped(dir: string, key: string): number {
    return this.now().getTime() - (this.#swappedAt.get(`${dir}\0${key}`) ?? 0);
  }

  /** Staging dirs of a killed run, temp links, versions retired long enough ago. */
  async cleanupTarget(dir: string): Promise<void> {
    await cleanupCacheDir(dir, { graceMs: OLD_VERSION_GRACE_MS, now: this.now(), logger: this.log });
  }

  async cleanup(): Promise<void> {
    for (const t of this.config.targets) {
      await this.cleanupTarget(t.dir).catch((err: unknown) =>
        this.log.warn({ err, dir: t.dir }, 'cleanup failed'),
      );
    }
  }
}

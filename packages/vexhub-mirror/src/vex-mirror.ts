// The plugin's one service: runs the mirror job over every repository, holds what is served, reports health.
import { readFile } from 'node:fs/promises';
import {
  type Clock,
  describeError,
  type EventBus,
  errorCode,
  type HealthReport,
  type HttpClient,
  type JobContext,
  type JobOutcome,
  type Logger,
  type Metrics,
  MirrorError,
  type RuntimeSettings,
  type Signing,
} from '@trivy-mirror/plugin-api';
import type { RepositoryConfig, VexhubMirrorConfig } from './config.js';
import { formatLocation } from './upstream/location-url.js';
import { mirrorRepository, servedArchiveUrl } from './upstream/mirror-repository.js';
import { publishNeeded, publishToDir } from './serve/publish-dir.js';
import { writeVexDigestList } from './transfer/vex-digest-list.js';
import { exportVexVersion, type VexExportReport } from './transfer/vex-export.js';
import {
  type AppliedVexImport,
  applyVexImport,
  discardVexImport,
  findVexRollbacks,
  type PlannedVexImport,
  planVexImport,
  takeImported,
} from './transfer/vex-import.js';
import { updateIntervalSeconds, VexMetrics } from './vex-metrics.js';
import { parseManifest, rewriteManifest } from './versions/vex-manifest.js';
import { type PublishedVersion, VersionStore } from './versions/version-store.js';

export interface VexMirrorOptions {
  config: VexhubMirrorConfig;
  pluginDir: string;
  logger: Logger;
  /** From PluginContext; RuntimeSettings.publicUrl wins when both are set. */
  publicUrl?: string;
  http: HttpClient;
  events?: EventBus;
  settings?: RuntimeSettings;
  metrics?: Metrics;
  clock?: Clock;
  /** Signs the export's VEX digest list (top-level `signing:`). */
  signing?: Signing;
}

/** What the routes serve for one repository. */
export interface ServedRepository {
  config: RepositoryConfig;
  store: VersionStore;
  published?: PublishedVersion;
  /** The rewritten manifest bytes of `published`. */
  manifest?: Buffer;
  lastError?: { message: string; code?: string; at: string };
}

export class VexMirror {
  readonly config: VexhubMirrorConfig;
  private readonly repos = new Map<string, ServedRepository>();
  private loading?: Promise<void>;
  private readonly metrics?: VexMetrics;

  constructor(private readonly options: VexMirrorOptions) {
    this.config = options.config;
    for (const repo of options.config.repositories) {
      this.repos.set(repo.name, { config: repo, store: new VersionStore(options.pluginDir, repo.name) });
    }
    if (options.metrics) this.metrics = new VexMetrics(options.metrics.registry);
  }

  get publicUrl(): string | undefined {
    return (this.options.settings?.publicUrl ?? this.options.publicUrl)?.replace(/\/+$/, '');
  }

  private now(): Date {
    return this.options.clock?.now() ?? new Date();
  }

  repository(name: string): ServedRepository | undefined {
    return this.repos.get(name);
  }

  /** The first configured repository, also served at /.well-known/vex-repository.json. */
  defaultRepository(): ServedRepository | undefined {
    return this.repos.values().next().value;
  }

  repositories(): ServedRepository[] {
    return [...this.repos.values()];
  }

  /**
   * Reads what earlier runs published, so a restart serves at once, and removes the staging folders
   * that killed processes (a SIGKILLed import or daemon) left. Memoised.
   */
  load(): Promise<void> {
    this.loading ??= (async () => {
      for (const r of this.repos.values()) {
        try {
          const removed = await r.store.cleanTemp();
          if (removed.length > 0)
            this.options.logger.info(
              { repository: r.config.name, removed },
              'removed staging folders of interrupted runs',
            );
        } catch (err) {
          this.options.logger.warn({ err, repository: r.config.name }, 'cannot clean vex staging folders');
        }
        try {
          const cur = await r.store.current();
          if (!cur) continue;
          const manifest = await readFile(r.store.manifestPath(cur.version));
          r.manifest = manifest;
          r.published = cur;
          this.metrics?.record(cur, manifest);
        } catch (err) {
          this.options.logger.warn(
            { err, repository: r.config.name },
            'cannot read the published vex version',
          );
        }
      }
    })();
    return this.loading;
  }

  async run(ctx: JobContext): Promise<JobOutcome> {
    if (this.repos.size === 0)
      return { status: 'skipped', summary: 'no repositories configured: nothing to mirror' };
    await this.load();
    // No public URL (nothing serves VEX): mirror anyway for cache dirs; manifests keep the upstream location.
    const baseUrl = this.publicUrl ?? this.config.publishBaseUrl;
    const results: Record<string, unknown> = {};
    const failures: Error[] = [];
    let changed = 0;
    let bytes = 0;
    for (const r of this.repos.values()) {
      ctx.signal.throwIfAborted();
      try {
        const res =
          r.config.source === 'import'
            ? await takeImported(r, { baseUrl, pathPrefix: this.config.pathPrefix }, this.now())
            : await mirrorRepository({
                repo: r.config,
                config: this.config,
                store: r.store,
                http: this.options.http,
                logger: ctx.logger,
                baseUrl,
                now: () => this.now(),
                signal: ctx.signal,
              });
        // An import swapped current.json since this daemon last served it.
        if (r.published?.version !== res.published.version) res.changed = true;
        if (res.changed && res.published.importedAt) {
          ctx.logger.info(
            { repository: r.config.name, version: res.published.version, from: res.published.importedFrom },
            'imported vex version now served',
          );
        }
        bytes += res.bytes;
        const manifest = await readFile(r.store.manifestPath(res.published.version));
        // Both together, so a request never pairs one version's manifest with another's archive.
        r.manifest = manifest;
        r.published = res.published;
        r.lastError = undefined;
        if (res.changed) changed++;
        // Emitted in the same synchronous step that makes the version served, so no /readyz poll sees
        // this repository ready while cache-populator has not heard of it yet.
        this.options.events?.emit('vex.stored', {
          repository: r.config.name,
          contentDir: r.store.contentDir(res.published.version),
          manifestPath: r.store.manifestPath(res.published.version),
          archivePath: r.store.archivePath(res.published),
          etag: `sha256:${res.published.version}`,
          updatedAt: res.published.updatedAt,
          changed: res.changed,
        });
        await this.publish(r, res.changed);
        const removed = await r.store.gc(res.published, this.config.graceMinutes * 60_000, this.now());
        if (removed.length > 0)
          ctx.logger.info({ repository: r.config.name, removed }, 'old vex versions removed');
        this.metrics?.record(res.published, manifest);
        results[r.config.name] = { changed: res.changed, version: res.published.version };
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        const e = err instanceof Error ? err : new Error(String(err));
        r.lastError = { message: describeError(e), code: errorCode(e), at: this.now().toISOString() };
        results[r.config.name] = { error: r.lastError.message };
        ctx.logger.error(
          { err: e, repository: r.config.name },
          'vex mirror failed; the previous version stays served',
        );
        failures.push(e);
      }
    }
    if (failures.length === 1 && this.repos.size === 1) throw failures[0];
    if (failures.length > 0) {
      throw new MirrorError(
        'VEX_MIRROR_FAILED',
        `${failures.length} of ${this.repos.size} vex repositories failed: ${failures.map((f) => f.message).join('; ')}`,
        // No cause: every message is in this one already.
      );
    }
    const names = [...this.repos.keys()].join(', ');
    return changed > 0
      ? {
          status: 'success',
          summary: `${changed} vex repositories updated (${names})`,
          bytes,
          details: results,
        }
      : { status: 'skipped', summary: `vex repositories unchanged (${names})`, bytes, details: results };
  }

  /** Copies the served files into publishDir when they changed or went missing. */
  private async publish(r: ServedRepository, changed: boolean): Promise<void> {
    const dir = this.config.publishDir;
    const cur = r.published;
    if (!dir || !cur || !r.manifest) return;
    const publishBase = this.config.publishBaseUrl ?? this.publicUrl;
    let manifest = r.manifest;
    if (publishBase && publishBase !== this.publicUrl) {
      const upstream = await readFile(r.store.upstreamManifestPath(cur.version), 'utf8');
      const served = servedArchiveUrl(publishBase, this.config.pathPrefix, r.config.name, {
        url: '',
        type: cur.archiveType,
      });
      manifest = rewriteManifest(
        parseManifest(upstream, r.config.name).manifest,
        formatLocation(served, cur.subdir),
      );
    }
    const item = {
      repository: r.config.name,
      isDefault: r === this.defaultRepository(),
      archivePath: r.store.archivePath(cur),
      archiveType: cur.archiveType,
      manifest,
    };
    if (changed || (await publishNeeded(dir, this.config.pathPrefix, item))) {
      await publishToDir(dir, this.config.pathPrefix, item);
      this.options.logger.info({ repository: r.config.name, dir }, 'vex repository written to publishDir');
    }
  }

  #missingText(name: string): string {
    return this.repos.get(name)?.config.source === 'import'
      ? `${name} (source: import: run \`trivy-mirror import DIR\`)`
      : name;
  }

  /** Writes the served version of every repository into an export tree (OUT/vex/NAME). */
  async exportTo(outDir: string): Promise<VexExportReport[]> {
    await this.load();
    const out: VexExportReport[] = [];
    for (const r of this.repos.values()) {
      const cur = await r.store.current();
      if (cur) out.push(await exportVexVersion(r.store, cur, outDir, this.now()));
      else
        this.options.logger.warn(
          { repository: r.config.name },
          'vex repository holds no version yet; not exported (run the vexhub-mirror job first)',
        );
    }
    // the files of every exported version, listed and (with a key) signed as cosign sign-blob does
    await writeVexDigestList(outDir, await this.options.signing?.key());
    return out;
  }

  /** Checks and stages the VEX part of an export tree (nothing served changes). */
  planImport(inDir: string): Promise<PlannedVexImport> {
    return planVexImport(inDir, this.repositories());
  }

  /** Removes what planImport staged, when the import is not applied after all. */
  discardImport(plan: PlannedVexImport): Promise<void> {
    return discardVexImport(plan);
  }

  /** Repositories this config takes only from imports that `plan` has nothing for. */
  notInImport(plan: PlannedVexImport): string[] {
    const staged = new Set(plan.staged.map((s) => s.target.config.name));
    return this.repositories()
      .filter((r) => r.config.source === 'import' && !staged.has(r.config.name))
      .map((r) => r.config.name);
  }

  /** What applying `plan` would roll back (served index newer than the export's), one line each. */
  importRollbacks(plan: PlannedVexImport): Promise<string[]> {
    return findVexRollbacks(plan);
  }

  /** Swaps staged versions in; a running daemon serves them after its next vexhub-mirror run. */
  applyImport(plan: PlannedVexImport): Promise<AppliedVexImport> {
    const baseUrl = this.publicUrl ?? this.config.publishBaseUrl;
    return applyVexImport(plan, { baseUrl, pathPrefix: this.config.pathPrefix }, this.now(), {
      graceMs: this.config.graceMinutes * 60_000,
    });
  }

  health(): HealthReport {
    const status: Record<string, unknown> = {};
    const missing: string[] = [];
    for (const r of this.repos.values()) {
      const p = r.published;
      if (!p) missing.push(r.config.name);
      status[r.config.name] = {
        source: r.config.url ?? 'import',
        importedAt: p?.importedAt,
        importedFrom: p?.importedFrom,
        version: p ? `sha256:${p.version}` : undefined,
        updatedAt: p?.updatedAt,
        fetchedAt: p?.fetchedAt,
        publishedAt: p?.publishedAt,
        packages: p?.packages,
        archiveSize: p?.archiveSize,
        updateIntervalSeconds: p ? updateIntervalSeconds(r.manifest) : undefined,
        archive: p?.archiveUrl,
        location: p?.location,
        lastError: r.lastError,
      };
    }
    return {
      ready: missing.length === 0,
      reason:
        missing.length > 0
          ? `no vex version mirrored yet: ${missing.map((n) => this.#missingText(n)).join(', ')}`
          : undefined,
      status: { repositories: status },
    };
  }
}

// The daemon side of the plugin: populates every target from the store on start and on events,
// repairs damaged parts (watch and periodic check), requests a sync when a part goes stale, and
// reports versions and ages to /status, /readyz and /metrics.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isOciError } from '@trivy-mirror/oci';
import {
  type ArtifactStore,
  type CacheWatch,
  type Clock,
  type EventBus,
  type HealthCheck,
  type HealthReport,
  type Job,
  type JobContext,
  type JobOutcome,
  type LifecycleContribution,
  type Logger,
  type Metrics,
  MirrorError,
  type PluginContext,
  type VexStoredEvent,
  type WatchChange,
  describeError,
  errorCode,
} from '@trivy-mirror/plugin-api';
import type { PopulateSource } from './artifact-source.js';
import { CacheMetrics } from './cache-metrics.js';
import type { CachePart, CachePopulatorConfig, CacheTarget } from './config-schema.js';
import { ensureDir, readJsonFile, writeFileAtomic } from './durable-fs.js';
import { withKeyLock } from './keyed-mutex.js';
import { checkIntegrity, partOfKey, readPartState, recordedKeys } from './part-state.js';
import { PART_SPECS, partForRepository } from './part-specs.js';
import { type PartResult, populateCacheDir } from './populate-cache-dir.js';
import { checkPartStale, type StaleHealth } from './stale-check.js';
import { parseGoTime } from './trivy-metadata.js';
import { cleanupCacheDir, STATE_DIR, LINK_PREFIX, STAGING_PREFIX } from './version-swap.js';
import type { VexInput } from './vex-populate.js';

export const JOB_ID = 'cache-populator';
/** Retired versions stay this long so readers that resolved the old link can finish. */
export const OLD_VERSION_GRACE_MS = 15 * 60_000;
/** A version dir's name as commitVersion makes it: `<key>-<base36 time>-<8 hex>`; group 1 is the key. */
const VERSION_DIR_RE = /^(db|java-db|checks|vex-[A-Za-z0-9][A-Za-z0-9._-]*)-[0-9a-z]+-[0-9a-f]{8}$/;
/** Watch events this soon after our own swap of a part are our own. */
const SUPPRESS_MS = 1500;

interface PartHealth extends StaleHealth {
  lastError?: { code?: string; message: string; at: string };
  lastResult?: { status: PartResult['status']; at: string; version?: string };
  lastRepair?: { at: string; reason?: string; repaired: boolean };
}

export interface CachePopulatorDeps {
  clock: Clock;
  events: EventBus;
  store: Pick<ArtifactStore, 'layoutPath'>;
  metrics?: Metrics;
}

export class CachePopulatorService {
  readonly #config: CachePopulatorConfig;
  readonly #context: PluginContext;
  readonly #deps: CachePopulatorDeps;
  readonly #log: Logger;
  readonly #vex = new Map<string, VexStoredEvent>();
  readonly #health = new Map<string, PartHealth>();
  readonly #swappedAt = new Map<string, number>();
  readonly #unsubscribe: (() => void)[] = [];
  #dirty = false;
  #timer?: NodeJS.Timeout;
  #ticking = false;
  #metrics?: CacheMetrics;
  #stopping = new AbortController();

  constructor(config: CachePopulatorConfig, context: PluginContext, deps: CachePopulatorDeps) {
    this.#config = config;
    this.#context = context;
    this.#deps = deps;
    this.#log = context.logger;
    if (deps.metrics) this.#metrics = new CacheMetrics(deps.metrics);
  }

  get #source(): PopulateSource {
    return { kind: 'store', layoutPath: (repo: string) => this.#deps.store.layoutPath(repo) };
  }

  get #vexFile(): string {
    return path.join(this.#context.pluginDir, 'vex-stored.json');
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  async start(_signal: AbortSignal): Promise<void> {
    this.#stopping = new AbortController();
    for (const t of this.#config.targets) {
      await ensureDir(t.dir, t.dirMode);
      // Staging dirs of a killed run, temp links, versions retired long enough ago.
      await cleanupCacheDir(t.dir, {
        graceMs: OLD_VERSION_GRACE_MS,
        now: this.#deps.clock.now(),
        logger: this.#log,
      });
    }
    const saved = await readJsonFile<VexStoredEvent[]>(this.#vexFile);
    for (const e of saved ?? []) this.#vex.set(e.repository, e);
    this.#unsubscribe.push(
      this.#deps.events.on('artifact.stored', (e) => {
        if (partForRepository(e.repository)) this.#dirty = true;
      }),
      this.#deps.events.on('vex.stored', async (e) => {
        this.#vex.set(e.repository, e);
        this.#dirty = true;
        await writeFileAtomic(this.#vexFile, JSON.stringify([...this.#vex.values()], null, 2)).catch(
          (err: unknown) => this.#log.warn({ err }, 'could not persist the last vex.stored event'),
        );
      }),
    );
    this.#timer = setInterval(() => void this.tick(), this.#config.checkIntervalSeconds * 1000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopping.abort(new Error('stopping'));
    clearInterval(this.#timer);
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  // ---- populate ----------------------------------------------------------------------------------

  #vexInputs(): VexInput[] {
    return [...this.#vex.values()].map((e) => ({
      repository: e.repository,
      contentDir: e.contentDir,
      manifestPath: e.manifestPath,
      etag: e.etag,
    }));
  }

  /** Populates `parts` of one target from the store; records health, emits cache.populated. */
  async populateTarget(
    target: CacheTarget,
    parts: CachePart[],
    options: { force?: boolean; signal?: AbortSignal; vex?: string[] } = {},
  ): Promise<PartResult[]> {
    const vexInputs = this.#vexInputs().filter((v) => !options.vex || options.vex.includes(v.repository));
    const result = await populateCacheDir({
      cacheDir: target.dir,
      parts,
      source: this.#source,
      vex: vexInputs,
      now: () => this.#deps.clock.now(),
      checksTag: target.checksTag,
      owner: { user: target.user, group: target.group },
      mode: target.mode,
      dirMode: target.dirMode,
      maxUnpackedBytes: this.#config.maxUnpackedBytes,
      force: options.force,
      signal: options.signal,
      logger: this.#log,
    });
    const at = this.#deps.clock.now().toISOString();
    for (const p of result.parts) {
      // An empty store (first start, before the first sync) is not an error of ours.
      if (p.status === 'failed' && isNotStoredYet(p.error)) {
        p.status = 'skipped';
        p.reason = 'not in the store yet';
      }
      const h = this.#partHealth(target.dir, p.key);
      h.lastResult = { status: p.status, at, version: p.version };
      if (p.status === 'failed')
        h.lastError = { code: errorCode(p.error), message: describeError(p.error), at };
      else if (p.status !== 'skipped') h.lastError = undefined;
      if (p.status === 'populated') this.#swappedAt.set(`${target.dir}\0${p.key}`, Date.now());
    }
    const populated = result.parts.filter((p) => p.status === 'populated').map((p) => p.key);
    if (populated.length) this.#deps.events.emit('cache.populated', { dir: target.dir, parts: populated });
    return result.parts;
  }

  readonly job: Job = {
    id: JOB_ID,
    description: 'Populate the Trivy cache directories from the local store',
    runOnStart: true,
    triggers: ['artifact.stored', 'vex.stored'],
    partOfSync: false,
    run: (ctx) => this.#runJob(ctx),
  };

  async #runJob(ctx: JobContext): Promise<JobOutcome> {
    const all: { dir: string; result: PartResult }[] = [];
    // Events that arrive during a pass (their listener may run after the runtime started us) get a
    // follow-up pass instead of being lost to "already running". That includes the cleanup at the
    // end: it is async too, and a sync finishing meanwhile (the runner joins its trigger to this
    // run) would otherwise wait for the next event to be populated.
    for (let pass = 1; ; pass++) {
      this.#dirty = false;
      for (const target of this.#config.targets) {
        for (const result of await this.populateTarget(target, target.include, { signal: ctx.signal })) {
          all.push({ dir: target.dir, result });
        }
      }
      if (!this.#dirty) await this.#cleanup();
      if (!this.#dirty || pass >= 5) break;
    }
    const failed = all.filter((a) => a.result.status === 'failed');
    const populated = all.filter((a) => a.result.status === 'populated');
    const bytes = all.reduce((n, a) => n + a.result.bytes, 0);
    const details = {
      parts: all.map((a) => ({
        dir: a.dir,
        part: a.result.key,
        status: a.result.status,
        version: a.result.version,
        bytes: a.result.bytes,
        reason: a.result.reason,
      })),
    };
    if (failed.length) {
      throw new MirrorError(
        'POPULATE_FAILED',
        failed.map((f) => `${f.dir} ${f.result.key}: ${f.result.reason}`).join('; '),
        { cause: failed[0].result.error },
      );
    }
    if (!populated.length) return { status: 'skipped', summary: 'cache dirs up to date', bytes, details };
    return {
      status: 'success',
      summary: `populated ${populated.map((p) => `${p.dir} ${p.result.key}`).join(', ')}`,
      bytes,
      details,
    };
  }

  // ---- watch and repair -------------------------------------------------------------------------

  /**
   * Paths under a cache dir that are ours to write and never a reason to repair: staging dirs, temp
   * links, and everything in `.trivy-mirror/` except the version dirs. Those are watched at their real
   * path on purpose: chokidar loses track of the files behind a symlink that is replaced a few times
   * (`db` -> a new version), so `rm db/trivy.db` after some updates is only seen as
   * `.trivy-mirror/db-…/trivy.db`.
   */
  ignored(p: string): boolean {
    const segs = p.split(path.sep);
    if (segs.some((seg) => seg.startsWith(STAGING_PREFIX) || seg.startsWith(LINK_PREFIX))) return true;
    const i = segs.lastIndexOf(STATE_DIR);
    if (i < 0 || i === segs.length - 1) return false;
    return !VERSION_DIR_RE.test(segs[i + 1]);
  }

  /** Which target and part a changed path belongs to ('vex-NAME' for VEX repositories). */
  classify(p: string): { target: CacheTarget; key: string; part: CachePart } | undefined {
    for (const target of this.#config.targets) {
      const rel = path.relative(target.dir, p);
      if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
      const [first, second, third] = rel.split(path.sep);
      if (first === STATE_DIR) {
        // A version dir at its real path: its name starts with the part key.
        const key = second ? VERSION_DIR_RE.exec(second)?.[1] : undefined;
        const part = key ? partOfKey(key) : undefined;
        if (!key || !part || !target.include.includes(part)) return undefined;
        return { target, key, part };
      }
      const part: CachePart | undefined =
        first === 'db'
          ? 'db'
          : first === 'java-db'
            ? 'java-db'
            : first === 'policy'
              ? 'checks'
              : first === 'vex'
                ? 'vex'
                : undefined;
      if (!part || !target.include.includes(part)) return undefined;
      if (part !== 'vex') return { target, key: part, part };
      // vex, vex/repositories: check every repository we hold.
      return { target, key: second === 'repositories' && third ? `vex-${third}` : 'vex-*', part };
    }
    return undefined;
  }

  async onChange(changes: WatchChange[], signal: AbortSignal): Promise<void> {
    const todo = new Map<string, { target: CacheTarget; key: string; part: CachePart }>();
    for (const c of changes) {
      if (this.ignored(c.path)) continue;
      // Files appearing in version dirs are our own writes; removals and edits are damage.
      if ((c.event === 'add' || c.event === 'addDir') && c.path.split(path.sep).includes(STATE_DIR)) continue;
      const hit = this.classify(c.path);
      if (hit) todo.set(`${hit.target.dir}\0${hit.key}`, hit);
    }
    for (const { target, key } of todo.values()) {
      const keys = key === 'vex-*' ? [...this.#vex.keys()].map((n) => `vex-${n}`) : [key];
      for (const k of keys) {
        const since = Date.now() - (this.#swappedAt.get(`${target.dir}\0${k}`) ?? 0);
        if (since < SUPPRESS_MS) {
          // Most likely our own swap; look again once the window has passed.
          setTimeout(
            () => void this.repairIfBroken(target, k, this.#stopping.signal),
            SUPPRESS_MS - since + 50,
          ).unref();
          continue;
        }
        await this.repairIfBroken(target, k, signal);
      }
    }
  }

  /** Repopulates a part from the store when it is no longer as we left it. Returns true if it did. */
  async repairIfBroken(target: CacheTarget, key: string, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return false;
    const state = await withKeyLock(`${path.resolve(target.dir)}\0${key}`, () =>
      readPartState(target.dir, key),
    );
    if (!state) return false; // never populated: the job does that
    const integrity = await withKeyLock(`${path.resolve(target.dir)}\0${key}`, () =>
      checkIntegrity(target.dir, state),
    );
    if (integrity.ok) return false;
    this.#log.warn(
      { dir: target.dir, part: key, reason: integrity.reason },
      'cache part damaged; repairing from the store',
    );
    const vex = state.part === 'vex' ? [key.slice(4)] : undefined;
    const results = await this.populateTarget(target, [state.part], { force: true, signal, vex });
    const repaired = results.some((r) => r.status === 'populated');
    this.#partHealth(target.dir, key).lastRepair = {
      at: this.#deps.clock.now().toISOString(),
      reason: integrity.reason,
      repaired,
    };
    return repaired;
  }

  // ---- periodic check: integrity, staleness, metrics, cleanup ----------------------------------

  async tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      const now = this.#deps.clock.now();
      for (const target of this.#config.targets) {
        for (const key of await recordedKeys(target.dir)) {
          const state = await readPartState(target.dir, key);
          if (!state || !target.include.includes(state.part)) continue;
          await this.repairIfBroken(target, key, this.#stopping.signal).catch((err: unknown) =>
            this.#log.error({ err, dir: target.dir, part: key }, 'repair failed'),
          );
          const fresh = (await readPartState(target.dir, key)) ?? state;
          const meta = await readJsonFile<Record<string, unknown>>(
            path.join(target.dir, fresh.linkPath, 'metadata.json'),
          );
          await checkPartStale(
            {
              events: this.#deps.events,
              logger: this.#log,
              layoutPath: (r) => this.#deps.store.layoutPath(r),
            },
            target,
            fresh,
            meta,
            now,
            this.#partHealth(target.dir, key),
          );
          const ref =
            parseGoTime(meta?.UpdatedAt) ??
            parseGoTime(meta?.DownloadedAt) ??
            parseGoTime(fresh.metadata.UpdatedAt);
          if (ref) this.#metrics?.age(target.dir, key, Math.max(0, (now.getTime() - ref.getTime()) / 1000));
          this.#metrics?.stale(target.dir, key, this.#partHealth(target.dir, key).stale ?? false);
        }
      }
      await this.#cleanup();
    } catch (err) {
      this.#log.error({ err }, 'cache check failed');
    } finally {
      this.#ticking = false;
    }
  }

  async #cleanup(): Promise<void> {
    for (const t of this.#config.targets) {
      await cleanupCacheDir(t.dir, {
        graceMs: OLD_VERSION_GRACE_MS,
        now: this.#deps.clock.now(),
        logger: this.#log,
      }).catch((err: unknown) => this.#log.warn({ err, dir: t.dir }, 'cleanup failed'));
    }
  }

  #partHealth(dir: string, key: string): PartHealth {
    const k = `${dir}\0${key}`;
    let h = this.#health.get(k);
    if (!h) {
      h = {};
      this.#health.set(k, h);
    }
    return h;
  }

  // ---- health -------------------------------------------------------------------------------------

  #storeHas(repository: string): boolean {
    return existsSync(path.join(this.#deps.store.layoutPath(repository), 'oci-layout'));
  }

  async health(): Promise<HealthReport> {
    const now = this.#deps.clock.now();
    const problems: string[] = [];
    const targets = [];
    for (const target of this.#config.targets) {
      const parts: Record<string, unknown> = {};
      const keys = new Set<string>(await recordedKeys(target.dir));
      for (const part of target.include) if (part !== 'vex') keys.add(part);
      // VEX repositories announced by vex.stored count like artifacts the store holds.
      if (target.include.includes('vex')) for (const name of this.#vex.keys()) keys.add(`vex-${name}`);
      for (const key of keys) {
        const state = await readPartState(target.dir, key);
        if (state && !target.include.includes(state.part)) continue;
        const h = this.#partHealth(target.dir, key);
        const meta = state
          ? await readJsonFile<Record<string, unknown>>(
              path.join(target.dir, state.linkPath, state.part === 'vex' ? 'cache.json' : 'metadata.json'),
            )
          : undefined;
        const updatedAt = parseGoTime(meta?.UpdatedAt);
        const downloadedAt = parseGoTime(meta?.DownloadedAt);
        const ref = updatedAt ?? downloadedAt;
        // Ready needs every part the store holds; what the store lacks is oci-sync's readiness to report.
        if (
          !state &&
          key in PART_SPECS &&
          this.#storeHas(PART_SPECS[key as keyof typeof PART_SPECS].repository)
        ) {
          problems.push(`${target.dir} ${key} not populated yet`);
        }
        if (!state && key.startsWith('vex-') && this.#vex.has(key.slice(4))) {
          problems.push(`${target.dir} ${key} not populated yet`);
        }
        if (h.stale) problems.push(`${target.dir} ${key} is stale (NextUpdate ${String(meta?.NextUpdate)})`);
        if (h.lastError && !state) problems.push(`${target.dir} ${key}: ${h.lastError.message}`);
        parts[key] = {
          populated: !!state,
          version: meta?.Version,
          updatedAt: meta?.UpdatedAt,
          nextUpdate: meta?.NextUpdate,
          downloadedAt: meta?.DownloadedAt,
          ageSeconds: ref ? Math.round((now.getTime() - ref.getTime()) / 1000) : undefined,
          tag: state?.tag,
          layerDigest: state?.layerDigest,
          manifestDigest: state?.manifestDigest,
          majorVersion: meta?.MajorVersion,
          populatedAt: state?.populatedAt,
          stale: h.stale ?? false,
          ...(h.staleImported ? { pastNextUpdate: true } : {}),
          lastResult: h.lastResult,
          lastRepair: h.lastRepair,
          lastError: h.lastError,
        };
      }
      targets.push({ dir: target.dir, parts });
    }
    return {
      ready: problems.length === 0,
      reason: problems.length ? problems.join('; ') : undefined,
      status: { targets },
    };
  }

  // ---- contributions ------------------------------------------------------------------------------

  readonly cacheWatch: CacheWatch = {
    id: 'cache-populator',
    paths: () => this.#config.targets.map((t) => t.dir),
    ignored: (p) => this.ignored(p),
    debounceMs: 200,
    onChange: (changes, signal) => this.onChange(changes, signal),
  };

  readonly healthCheck: HealthCheck = { id: 'cache-populator', check: () => this.health() };

  readonly lifecycle: LifecycleContribution = {
    id: 'cache-populator',
    start: (signal) => this.start(signal),
    stop: () => this.stop(),
  };
}

function isNotStoredYet(err: unknown): boolean {
  return (
    errorCode(err) === 'ARTIFACT_MISSING' ||
    isOciError(err, 'LAYOUT_INVALID', 'MANIFEST_UNKNOWN', 'NAME_UNKNOWN')
  );
}

// oci-sync's side of a damaged store. Readers (the /v2/ route, cache-populator, the health check, the
// job) report what they found bad or missing as `artifact.damaged`. A report is checked again before
// anything moves, since it can be stale (the blob may have been fetched again since): a blob that
// does not hash to its digest goes to the layout's quarantine; the damage is remembered for /readyz
// and /status until it is repaired; and a sync is requested, with a back-off so that a crowd of
// clients asking for a missing blob does not restart the job on every request. The sync fetches what
// a stored version lacks. Without an upstream, nothing can fetch it: the newest complete older
// version of the tag is served meanwhile (fallbackFor), and the log says which import repairs it.
import { readFile, stat } from 'node:fs/promises';
import { isOciError, OciErrorCode, OciLayout, quarantineFile } from '@trivy-mirror/oci';
import { withKeyLock } from '@trivy-mirror/oci/mutex';
import type { ArtifactDamagedEvent, ArtifactStore, EventBus, Logger } from '@trivy-mirror/plugin-api';
import type { ArtifactConfig, OciSyncConfig } from '../config.js';
import { hashFile } from './file-digest.js';
import { newestCompleteOlder, type VersionDamage, versionDamage } from './version-blobs.js';

export interface DamageRecord {
  repository: string;
  /** The bad or missing blob; undefined when index.json is damaged. */
  digest?: string;
  kind: 'bad' | 'missing' | 'index';
  reason: string;
  /** Who found it first. */
  reporter: string;
  at: string;
  /** Where the bad file went. */
  quarantined?: string;
  /** A bad file that could not be moved: its version, so it is not hashed again on every report. */
  file?: string;
  /** Tags whose current version needs it. */
  tags: string[];
  /** Sync requests made for it, and when the last one was (ms). */
  requests: number;
  requestedAt?: number;
}

export interface StoreDamageDeps {
  config: Pick<OciSyncConfig, 'artifacts' | 'sources'>;
  store: Pick<ArtifactStore, 'layoutPath'>;
  events?: EventBus;
  logger?: Logger;
  now: () => Date;
}

const BACKOFF_MIN_MS = 30_000;
const BACKOFF_MAX_MS = 30 * 60_000;
const GOOD_KEPT = 256;

export class StoreDamage {
  readonly #records = new Map<string, DamageRecord>();
  /** `repository:tag` → the digest served while the tagged version is damaged (no upstream). */
  readonly #fallbacks = new Map<string, string>();
  /** Files a report named that hashed right: path → file version (a repeated stale report costs a stat). */
  readonly #good = new Map<string, string>();

  constructor(private readonly deps: StoreDamageDeps) {}

  /** Subscribes to `artifact.damaged`; returns the unsubscribe. */
  listen(): () => void {
    return this.deps.events?.on('artifact.damaged', (e) => void this.check(e)) ?? (() => undefined);
  }

  records(repository?: string): DamageRecord[] {
    return [...this.#records.values()].filter((r) => repository === undefined || r.repository === repository);
  }

  /** The record of a blob (or with no digest, of index.json). */
  recordOf(repository: string, digest?: string): DamageRecord | undefined {
    return this.#records.get(keyOf(repository, digest));
  }

  /**
   * Checks a report and acts on it (quarantine, record, sync request unless `requestSync` is false:
   * the job itself reporting). Resolves with the record when the damage is real; never rejects.
   */
  async check(
    event: ArtifactDamagedEvent,
    options: { requestSync?: boolean } = {},
  ): Promise<DamageRecord | undefined> {
    const artifact = this.deps.config.artifacts.find((a) => a.name === event.repository);
    if (!artifact) return undefined; // not a repository this plugin keeps
    try {
      return await withKeyLock(`oci-sync-damage\0${event.repository}`, () =>
        this.#check(artifact, event, options.requestSync ?? true),
      );
    } catch (err) {
      this.deps.logger?.warn({ err, ...event }, 'cannot check a reported damage');
      return undefined;
    }
  }

  /** The digest to serve for `repository:tag` instead of its damaged current version, if any. */
  async fallbackFor(repository: string, tag: string): Promise<string | undefined> {
    const key = `${repository}:${tag}`;
    const digest = this.#fallbacks.get(key);
    if (!digest) return undefined;
    // an import may have repaired the current version since: never serve an older one then
    try {
      const layout = await OciLayout.open(this.deps.store.layoutPath(repository));
      const current = await layout.resolve(tag);
      if (current && (await versionDamage(layout, current.digest))) return digest;
    } catch {
      return digest;
    }
    this.#fallbacks.delete(key);
    return undefined;
  }

  /** Sets (or with undefined, clears) the version served for `repository:tag` meanwhile. */
  setFallback(repository: string, tag: string, digest: string | undefined, damaged?: string): void {
    const key = `${repository}:${tag}`;
    if (this.#fallbacks.get(key) === digest) return;
    if (digest === undefined) this.#fallbacks.delete(key);
    else {
      this.#fallbacks.set(key, digest);
      this.deps.logger?.warn(
        { repository, tag, serving: digest, damaged: `${repository}:${tag}@${damaged}` },
        'serving an older version while the current one is damaged; no upstream: import an export that holds the damaged one',
      );
    }
  }

  fallbackOf(repository: string, tag: string): string | undefined {
    return this.#fallbacks.get(`${repository}:${tag}`);
  }

  /** What is wrong with a version, in the words of the records (quarantine included) where there are some. */
  describe(repository: string, damage: VersionDamage): string {
    const known = damage.blobs.map((d) => this.recordOf(repository, d)).filter((r) => r !== undefined);
    if (known.length === 0) return damage.reason;
    return known
      .map((r) => `${r.digest} ${r.reason}${r.quarantined ? `, moved to ${r.quarantined}` : ''}`)
      .join('; ');
  }

  /** Forgets what is repaired: a blob back on disk or no longer needed, an index.json readable again. */
  async prune(): Promise<void> {
    for (const [key, r] of this.#records) {
      const artifact = this.deps.config.artifacts.find((a) => a.name === r.repository);
      let layout: OciLayout;
      try {
        layout = await OciLayout.open(this.deps.store.layoutPath(r.repository));
        if (!r.digest) {
          await layout.index();
          this.#records.delete(key);
          this.deps.logger?.info({ repository: r.repository }, 'index.json repaired');
          continue;
        }
      } catch {
        continue;
      }
      // a bad file that could not be moved away is still there: not repaired
      const back = (r.kind === 'missing' || r.quarantined) && (await layout.blobHas(r.digest));
      const needed = back ? [] : await tagsNeeding(layout, artifact?.tags ?? [], r.digest);
      if (back || needed.length === 0) {
        this.#records.delete(key);
        this.deps.logger?.info(
          { repository: r.repository, digest: r.digest },
          back ? 'damaged blob repaired' : 'damaged blob no longer needed (its tags moved on)',
        );
      }
    }
  }

  async #check(
    artifact: ArtifactConfig,
    event: ArtifactDamagedEvent,
    requestSync: boolean,
  ): Promise<DamageRecord | undefined> {
    const layout = await OciLayout.open(this.deps.store.layoutPath(event.repository)).catch(() => undefined);
    if (!layout) return undefined;
    try {
      await layout.index();
    } catch (err) {
      if (!isOciError(err, OciErrorCode.LAYOUT_INVALID)) throw err;
      const r = this.#record(
        {
          repository: artifact.name,
          kind: 'index',
          reason: (err as Error).message,
          reporter: event.reporter,
        },
        artifact.tags,
      );
      if (requestSync) this.#requestSync(r);
      return r;
    }
    const digests = event.digest ? [event.digest] : await damagedBlobs(layout, artifact.tags);
    let last: DamageRecord | undefined;
    for (const digest of digests) {
      const before = this.recordOf(artifact.name, digest);
      const r = await this.#checkBlob(layout, artifact, digest, event);
      if (!r) continue;
      last = r;
      if (r !== before) await this.#updateFallbacks(layout, artifact, r);
      if (requestSync) this.#requestSync(r);
    }
    return last;
  }

  async #checkBlob(
    layout: OciLayout,
    artifact: ArtifactConfig,
    digest: string,
    event: ArtifactDamagedEvent,
  ): Promise<DamageRecord | undefined> {
    const path = layout.blobPath(digest);
    const existing = this.#records.get(keyOf(artifact.name, digest));
    const st = await stat(path).catch(() => undefined);
    const version = st && `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    // known and unchanged (still missing, or a bad file that could not be moved): nothing new to look at
    if (existing && (!st || existing.file === version)) return existing;
    const tags = await tagsNeeding(layout, artifact.tags, digest);
    if (tags.length === 0) return undefined; // no served version needs it
    if (!st) {
      return this.#record(
        {
          repository: artifact.name,
          digest,
          kind: 'missing',
          reason: 'missing from the store',
          reporter: event.reporter,
        },
        tags,
      );
    }
    if (this.#good.get(path) === version) return undefined;
    const actual = await hashFile(path);
    if (actual.digest === digest) {
      this.#good.set(path, version as string);
      if (this.#good.size > GOOD_KEPT) this.#good.delete(this.#good.keys().next().value as string);
      this.deps.logger?.info(
        { repository: artifact.name, digest, reporter: event.reporter, reported: event.reason },
        'reported damage not found: the blob verifies',
      );
      return undefined;
    }
    const reason = `content hashes to ${actual.digest} (${actual.size} bytes)`;
    // recorded before it moves: a reader that finds it gone meanwhile learns why
    const r = this.#record(
      { repository: artifact.name, digest, kind: 'bad', reason, reporter: event.reporter },
      tags,
    );
    r.file = version;
    // moved only while it is still the file that was hashed (a sync may have replaced it meanwhile)
    const now = await stat(path).catch(() => undefined);
    if (now && now.ino === st.ino && now.ctimeMs === st.ctimeMs) {
      try {
        r.quarantined = await quarantineFile(layout.dir, path, digest.slice('sha256:'.length), {
          now: this.deps.now(),
        });
        r.file = undefined;
        this.deps.logger?.info(
          { repository: artifact.name, digest, quarantined: r.quarantined },
          'damaged blob quarantined',
        );
      } catch (err) {
        this.deps.logger?.error(
          { err, repository: artifact.name, digest },
          'cannot move a damaged blob away',
        );
      }
    }
    return r;
  }

  #record(
    found: Pick<DamageRecord, 'repository' | 'digest' | 'kind' | 'reason' | 'reporter'>,
    tags: string[],
  ): DamageRecord {
    const key = keyOf(found.repository, found.digest);
    const existing = this.#records.get(key);
    // a bad blob moved away is then missing: the first, better reason stays
    const record: DamageRecord = existing
      ? { ...existing, tags, ...(found.kind === 'bad' ? { kind: 'bad', reason: found.reason } : {}) }
      : { ...found, tags, at: this.deps.now().toISOString(), requests: 0 };
    this.#records.set(key, record);
    if (!existing || (found.kind === 'bad' && existing.kind !== 'bad')) {
      const { repository, digest, reason, reporter } = record;
      this.deps.logger?.warn(
        { repository, digest, reason, reporter, tags },
        digest
          ? 'damaged blob in the store'
          : 'index.json of the store is damaged; rebuilding it (see the runbook, "Store damaged")',
      );
    }
    return record;
  }

  async #updateFallbacks(layout: OciLayout, artifact: ArtifactConfig, r: DamageRecord): Promise<void> {
    if ((artifact.sources ?? this.deps.config.sources).length > 0) return;
    for (const tag of r.tags) {
      const current = await layout.resolve(tag);
      const older = await newestCompleteOlder(layout, tag);
      this.setFallback(artifact.name, tag, older?.digest, current?.digest);
    }
  }

  #requestSync(r: DamageRecord): void {
    const now = Date.now();
    const wait = r.requests === 0 ? 0 : Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (r.requests - 1));
    if (r.requestedAt !== undefined && now - r.requestedAt < wait) return;
    r.requests++;
    r.requestedAt = now;
    this.deps.events?.emit('sync.requested', {
      reason: `store damaged: ${r.repository} ${r.digest ?? 'index.json'}: ${r.reason}`,
      repository: r.repository,
    });
  }
}

function keyOf(repository: string, digest?: string): string {
  return `${repository}\0${digest ?? 'index.json'}`;
}

/** The tags (of `tags`) whose current version is the manifest `digest` or names it as config or layer. */
async function tagsNeeding(layout: OciLayout, tags: string[], digest: string): Promise<string[]> {
  const out: string[] = [];
  for (const tag of tags) {
    const current = await layout.resolve(tag).catch(() => undefined);
    if (!current) continue;
    if (current.digest === digest) {
      out.push(tag);
      continue;
    }
    try {
      // unverified on purpose: a bad manifest is reported on its own
      const m = JSON.parse(await readFile(layout.blobPath(current.digest), 'utf8')) as {
        config?: { digest?: string };
        layers?: { digest?: string }[];
      };
      if (m.config?.digest === digest || (m.layers ?? []).some((l) => l?.digest === digest)) out.push(tag);
    } catch {
      // its manifest is missing or bad: reported by itself
    }
  }
  return out;
}

/** What the tags' current versions lack (a report that names no blob: look at everything cheaply). */
async function damagedBlobs(layout: OciLayout, tags: string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const tag of tags) {
    const current = await layout.resolve(tag);
    const damage = current && (await versionDamage(layout, current.digest));
    for (const d of damage ? damage.blobs : []) out.add(d);
  }
  return [...out];
}

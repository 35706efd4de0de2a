// Writes Trivy cache dir parts from OCI artifacts (and VEX repositories), one immutable version per
// population, swapped in atomically (see version-swap.ts). Usable without the daemon (`populate`).
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, writeNewFile } from '@trivy-mirror/oci/fs';
import { ArchiveInvalidError, describeError, errorCode } from '@trivy-mirror/plugin-api';
import { listTags, newestNumericTag, openArtifact, type PopulateSource } from './artifact-source.js';
import type { CachePart } from '../config-schema.js';
import { ensureDir } from '../disk/durable-fs.js';
import { type OwnerSpec, applyOwner, applyTree, resolveOwner } from '../disk/file-owner.js';
import { assertFreeSpace, unpackedEstimate } from '../disk/free-space.js';
import { withKeyLock } from '@trivy-mirror/oci/mutex';
import { type PartState, checkIntegrity, readPartState, writePartState } from '../disk/part-state.js';
import { type ArtifactPart, PART_SPECS } from './part-specs.js';
import type { PopulateContext } from './populate-context.js';
import { type PopulateLogger, silentLogger } from './populate-logger.js';
import { extractTarGz } from '../disk/safe-extract.js';
import {
  checksMajorVersion,
  checksMetadata,
  dbMetadataWithDownloadedAt,
  parseGoTime,
} from './trivy-metadata.js';
import { commitVersion, createStaging, discardStaging } from '../disk/version-swap.js';
import { type VexInput, populateVexRepository } from './vex-populate.js';
import { DEFAULT_MAX_UNPACKED_BYTES } from '../cache-parts.js';

export type { PopulateSource } from './artifact-source.js';

export interface PopulateOptions {
  /** The Trivy cache dir (`--cache-dir`); created when missing. */
  cacheDir: string;
  parts: CachePart[];
  /** Required for db, java-db and checks. */
  source?: PopulateSource;
  /** VEX repositories to write (the 'vex' part); usually from `vex.stored` events. */
  vex?: VexInput[];
  /** Population time source (DownloadedAt, cache.json UpdatedAt). Default: the system clock. */
  now?: Date | (() => Date);
  /** trivy-checks tag; default the newest numeric tag the source holds. */
  checksTag?: string;
  owner?: OwnerSpec;
  /** File mode (default 0o644) and directory mode (default 0o755); umask does not apply. */
  mode?: number;
  dirMode?: number;
  /** Decompressed size cap per layer (default 8 GiB). */
  maxUnpackedBytes?: number;
  /** Repopulate even when the part already holds the same content (repairs). */
  force?: boolean;
  /** Report what would be populated ('planned', with the layer bytes to read); write nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
  logger?: PopulateLogger;
}

export interface PartResult {
  part: CachePart;
  /** 'vex-<name>' for VEX repositories. */
  key: string;
  status: 'populated' | 'planned' | 'unchanged' | 'skipped' | 'failed';
  reason?: string;
  version?: string;
  repository?: string;
  tag?: string;
  manifestDigest?: string;
  layerDigest?: string;
  /** Bytes written to disk; for 'planned', the compressed layer bytes that would be read. */
  bytes: number;
  /** Why the same version was written again: it was damaged (removed or edited files). */
  repaired?: string;
  ms: number;
  error?: Error;
}

export interface PopulateResult {
  cacheDir: string;
  parts: PartResult[];
  /** True when no part failed. */
  ok: boolean;
}

export { DEFAULT_MAX_UNPACKED_BYTES };

/**
 * Populates every requested part. Never throws for a part's failure: each part is tried and reported
 * (`ok` is false when one failed); throws only for unusable options or when `signal` aborts.
 */
export async function populateCacheDir(options: PopulateOptions): Promise<PopulateResult> {
  const logger = options.logger ?? silentLogger;
  const cacheDir = path.resolve(options.cacheDir);
  const nowOpt = options.now;
  const r: PopulateContext = {
    cacheDir,
    now: typeof nowOpt === 'function' ? nowOpt : nowOpt ? () => nowOpt : () => new Date(),
    owner: await resolveOwner(options.owner),
    mode: options.mode ?? 0o644,
    dirMode: options.dirMode ?? 0o755,
    maxUnpackedBytes: options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES,
    force: options.force ?? false,
    dryRun: options.dryRun ?? false,
    signal: options.signal,
    logger,
  };
  if (!r.dryRun && (await ensureDir(cacheDir, r.dirMode))) await applyOwner(cacheDir, r.owner);
  const results: PartResult[] = [];
  for (const part of options.parts) {
    options.signal?.throwIfAborted();
    if (part === 'vex') {
      if (!options.vex?.length) {
        results.push({
          part,
          key: 'vex',
          status: 'skipped',
          reason: 'no VEX repository stored yet',
          bytes: 0,
          ms: 0,
        });
        continue;
      }
      for (const vex of options.vex)
        results.push(await guarded(r, part, `vex-${vex.repository}`, () => populateVexRepository(r, vex)));
      continue;
    }
    const source = options.source;
    if (!source) {
      results.push({ part, key: part, status: 'skipped', reason: 'no source given', bytes: 0, ms: 0 });
      continue;
    }
    results.push(
      await guarded(r, part, part, (known) =>
        populateArtifactPart(r, part, source, options.checksTag, known),
      ),
    );
  }
  return { cacheDir, parts: results, ok: results.every((p) => p.status !== 'failed') };
}

/** What a part learnt about its artifact before it failed (which version it was reading). */
type KnownArtifact = Pick<PartResult, 'repository' | 'tag' | 'manifestDigest' | 'layerDigest'>;

async function guarded(
  r: PopulateContext,
  part: CachePart,
  key: string,
  fn: (known: KnownArtifact) => Promise<Omit<PartResult, 'ms'>>,
): Promise<PartResult> {
  const started = Date.now();
  const known: KnownArtifact = {};
  try {
    const res = await withKeyLock(`${r.cacheDir}\0${key}`, () => fn(known));
    return { ...res, ms: Date.now() - started };
  } catch (err) {
    if (r.signal?.aborted) throw err;
    if (errorCode(err) === 'ARTIFACT_MISSING') {
      r.logger.info(
        { cacheDir: r.cacheDir, part: key, reason: describeError(err) },
        'nothing to populate yet',
      );
      return { part, key, status: 'skipped', reason: describeError(err), bytes: 0, ms: Date.now() - started };
    }
    const error = err instanceof Error ? err : new Error(String(err));
    r.logger.error({ err: error, cacheDir: r.cacheDir, part: key, code: errorCode(err) }, 'populate failed');
    return {
      part,
      key,
      ...known,
      status: 'failed',
      reason: describeError(err),
      bytes: 0,
      ms: Date.now() - started,
      error,
    };
  }
}

/** The tag populate uses for a part: fixed for the databases, configurable (default newest) for checks. */
export async function tagFor(
  part: ArtifactPart,
  source: PopulateSource,
  checksTag?: string,
  signal?: AbortSignal,
): Promise<string> {
  const spec = PART_SPECS[part];
  if (part !== 'checks') return spec.defaultTag;
  if (checksTag) return checksTag;
  try {
    return newestNumericTag(await listTags(source, spec.repository, signal)) ?? spec.defaultTag;
  } catch {
    return spec.defaultTag;
  }
}

async function populateArtifactPart(
  r: PopulateContext,
  part: ArtifactPart,
  source: PopulateSource,
  checksTag: string | undefined,
  known: KnownArtifact = {},
): Promise<Omit<PartResult, 'ms'>> {
  const spec = PART_SPECS[part];
  const tag = await tagFor(part, source, checksTag, r.signal);
  Object.assign(known, { repository: spec.repository, tag });
  const art = await openArtifact(source, spec.repository, tag, spec.layerMediaType, r.signal);
  const manifestDigest = art.manifest.descriptor.digest;
  Object.assign(known, { manifestDigest, layerDigest: art.layer.digest });
  const base = {
    part,
    key: part,
    repository: spec.repository,
    tag,
    manifestDigest,
    layerDigest: art.layer.digest,
    repaired: undefined as string | undefined,
  };

  const previous = await readPartState(r.cacheDir, part);
  if (
    !r.force &&
    previous &&
    previous.layerDigest === art.layer.digest &&
    // policy/metadata.json records the manifest digest, so a re-push with the same layer still counts.
    (part !== 'checks' || previous.manifestDigest === manifestDigest)
  ) {
    const integrity = await checkIntegrity(r.cacheDir, previous);
    // Unchanged: DownloadedAt is deliberately not refreshed; nothing was downloaded, and a fresh
    // DownloadedAt would make online Trivy clients skip a real update for another hour.
    if (integrity.ok) return { ...base, status: 'unchanged', version: previous.version, bytes: 0 };
    r.logger.warn(
      { cacheDir: r.cacheDir, part, reason: integrity.reason },
      'cache part damaged; repopulating',
    );
    base.repaired = integrity.reason;
  }

  if (r.dryRun) {
    const change = previous ? `replaces ${previous.version}` : 'new in this cache dir';
    const reason = `${spec.repository}:${tag} ${art.layer.digest.slice(0, 19)} (${change})`;
    return { ...base, status: 'planned', reason, bytes: art.layer.size };
  }
  const what = `${spec.repository}:${tag} (${art.layer.digest})`;
  await assertFreeSpace(r.cacheDir, unpackedEstimate(art.layer.size, r.maxUnpackedBytes), what);
  const staging = await createStaging(r.cacheDir, part, r.dirMode);
  try {
    const stream = await art.openLayer(r.signal);
    const dbFile = spec.dbFile;
    const extracted = await extractTarGz({
      source: stream,
      sizeHint: art.layer.size,
      stagingDir: staging,
      maxUnpackedBytes: r.maxUnpackedBytes,
      fileMode: r.mode,
      dirMode: r.dirMode,
      signal: r.signal,
      label: what,
      decide: (entry, type) => {
        if (!dbFile) return { action: 'write', to: `content/${entry}` };
        if (type === 'file' && entry === dbFile) return { action: 'write', to: dbFile };
        if (type === 'file' && entry === 'metadata.json') return { action: 'capture' };
        return { action: 'skip', reason: `not part of a ${spec.repository} layer` };
      },
      onSkip: (entry, reason) =>
        r.logger.warn({ entry, layer: art.layer.digest, reason }, 'ignoring archive entry'),
    });
    // A repair of the same content keeps the original DownloadedAt: nothing new was downloaded.
    const sameContent =
      previous?.layerDigest === art.layer.digest && previous.manifestDigest === manifestDigest;
    const now = (sameContent && parseGoTime(previous.metadata.DownloadedAt)) || r.now();
    let metadata: Record<string, unknown>;
    const files: PartState['files'] = {};
    if (dbFile) {
      const raw = extracted.captured.get('metadata.json');
      if (!extracted.files.includes(dbFile) || !raw) {
        throw new ArchiveInvalidError(`${what}: layer must hold ${dbFile} and metadata.json`);
      }
      const { text, meta } = dbMetadataWithDownloadedAt(raw, 'metadata.json', now);
      // Trivy re-downloads a db whose Version is not its schema and calls a newer one "Trivy version is
      // old": such a version must not replace a good one in the cache dir.
      if (meta.Version !== spec.schemaVersion) {
        throw new ArchiveInvalidError(
          `${what}: metadata.json has Version ${meta.Version}, Trivy expects ${spec.schemaVersion} for ${part}; ` +
            'refused, the cache dir keeps what it holds',
        );
      }
      await writeNewFile(path.join(staging, 'metadata.json'), text, r.mode);
      metadata = meta;
    } else {
      await ensureDir(path.join(staging, 'content'), r.dirMode);
      const major = checksMajorVersion(
        art.manifest.manifest.annotations?.['org.opencontainers.image.version'],
      );
      const meta = checksMetadata(manifestDigest, major, now);
      await writeNewFile(path.join(staging, 'metadata.json'), `${JSON.stringify(meta)}\n`, r.mode);
      metadata = { ...meta };
    }
    await applyTree(staging, r.owner, { file: r.mode, dir: r.dirMode });
    await fsyncDir(staging);
    const commit = await commitVersion({
      cacheDir: r.cacheDir,
      staging,
      key: part,
      linkPath: spec.linkName,
      owner: r.owner,
      dirMode: r.dirMode,
      logger: r.logger,
    });
    if (dbFile) {
      const st = await fs.stat(path.join(r.cacheDir, spec.linkName, dbFile));
      files[dbFile] = { size: st.size, ino: st.ino };
    }
    await writePartState(r.cacheDir, {
      part,
      key: part,
      linkPath: spec.linkName,
      version: commit.version,
      populatedAt: r.now().toISOString(),
      repository: spec.repository,
      tag,
      manifestDigest,
      layerDigest: art.layer.digest,
      layerSize: art.layer.size,
      files,
      metadata,
    });
    r.logger.info(
      {
        cacheDir: r.cacheDir,
        part,
        digest: art.layer.digest,
        version: commit.version,
        bytes: extracted.writtenBytes,
      },
      'cache part populated',
    );
    return { ...base, status: 'populated', version: commit.version, bytes: extracted.writtenBytes };
  } catch (err) {
    await discardStaging(staging);
    throw err;
  }
}

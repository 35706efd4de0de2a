// One pass over one VEX repository: conditional fetch of manifest and archive, validation before anything is
// published, a new version folder, then the atomic switch of current.json. A failure leaves the served version alone.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ArchiveInvalidError, type HttpClient, type Logger, MirrorError } from '@trivy-mirror/plugin-api';
import { writeFileAtomic } from '../versions/atomic-file.js';
import { downloadToFile, fetchDocument, type Validators } from './conditional-fetch.js';
import type { RepositoryConfig, VexhubMirrorConfig } from '../config.js';
import { type ArchiveLocation, formatLocation, parseLocation } from './location-url.js';
import { resolveSource, upstreamUrl } from './source-resolver.js';
import { parseManifest, type RepositoryManifest, rewriteManifest } from '../versions/vex-manifest.js';
import { archiveFileName, type PublishedVersion, type VersionStore } from '../versions/version-store.js';
import { commitStaged, stageContent } from '../versions/version-staging.js';
import { refuseRollback } from '../versions/vex-rollback.js';

const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface MirrorRun {
  repo: RepositoryConfig;
  config: VexhubMirrorConfig;
  store: VersionStore;
  http: HttpClient;
  logger: Logger;
  /** Base URL clients use to reach the serve listener (no trailing slash). */
  /** Where clients reach the mirror; undefined: not served, the manifest keeps the upstream location. */
  baseUrl: string | undefined;
  now: () => Date;
  signal?: AbortSignal;
}

export interface MirrorResult {
  /** True when what clients get (archive or manifest) changed. */
  changed: boolean;
  published: PublishedVersion;
  /** Bytes downloaded. */
  bytes: number;
}

/** Prefixes an error with the repository and URL, keeping its class and code. */
function inContext(err: unknown, repo: string, url: string): Error {
  const prefix = `vex repository ${repo}: ${url}: `;
  // The original's cause is kept, not the original: its message would be repeated in the chain.
  if (err instanceof ArchiveInvalidError) return new ArchiveInvalidError(prefix + err.message, err.cause);
  if (err instanceof MirrorError)
    return new MirrorError(err.code, prefix + err.message, { cause: err.cause });
  return new MirrorError('VEX_MIRROR_FAILED', prefix + (err instanceof Error ? err.message : String(err)), {
    cause: err,
  });
}

/** The archive URL clients get in the rewritten manifest. */
export function servedArchiveUrl(
  baseUrl: string | undefined,
  pathPrefix: string,
  repo: string,
  loc: ArchiveLocation,
): string {
  if (baseUrl === undefined) return loc.url;
  return `${baseUrl}${pathPrefix}/${repo}/${archiveFileName(loc.type)}`;
}

async function bearerHeader(repo: RepositoryConfig): Promise<Record<string, string>> {
  if (!repo.token) return {};
  let token: string | undefined;
  if (repo.token.file) token = (await readFile(repo.token.file, 'utf8')).trim();
  else if (repo.token.env) token = process.env[repo.token.env]?.trim();
  if (!token) {
    throw new MirrorError(
      'VEX_TOKEN_MISSING',
      `vex repository ${repo.name}: token ${repo.token.file ? `file ${repo.token.file}` : `env ${repo.token.env}`} is empty or missing`,
    );
  }
  return { Authorization: `Bearer ${token}` };
}

export async function mirrorRepository(run: MirrorRun): Promise<MirrorResult> {
  const { repo, config, store, http, signal } = run;
  const log = run.logger.child({ repository: repo.name });
  // what runs and imports killed earlier left; a live import's staging stays
  await store.cleanTemp();
  const current = await store.current();
  const source = resolveSource(repo, config);
  const headers = await bearerHeader(repo);

  // 1. The manifest, conditionally (its validators belong to the served version).
  const manifestValidators =
    current?.manifestUrl === source.manifestUrl ? current.validators.manifest : undefined;
  let manifestBytes: Buffer;
  let manifestValidatorsNext: Validators | undefined = manifestValidators;
  let parsed: ReturnType<typeof parseManifest>;
  try {
    const got = await fetchDocument(http, source.manifestUrl, {
      validators: manifestValidators,
      headers,
      signal,
      maxBytes: MAX_MANIFEST_BYTES,
    });
    if (got.notModified) {
      manifestBytes = await readFile(store.upstreamManifestPath(current!.version));
    } else {
      manifestBytes = got.body;
      manifestValidatorsNext = got.validators;
    }
    parsed = parseManifest(manifestBytes.toString('utf8'));
  } catch (err) {
    if (signal?.aborted) throw err;
    throw inContext(err, repo.name, source.manifestUrl);
  }
  const oldManifest = current
    ? await readFile(store.upstreamManifestPath(current.version)).catch(() => undefined)
    : undefined;
  const manifestChanged = !oldManifest?.equals(manifestBytes);

  // 2. The archive: GitHub's branch archive, or the spec version's locations in order (as Trivy tries them).
  const candidates: { loc?: ArchiveLocation; raw: string; error?: unknown }[] = [];
  if (source.archive) {
    candidates.push({ loc: source.archive, raw: source.archive.url });
  } else {
    for (const l of parsed.version.locations) {
      try {
        candidates.push({ loc: parseLocation(l.url), raw: l.url });
      } catch (err) {
        candidates.push({ raw: l.url, error: err });
      }
    }
  }
  const errors: Error[] = [];
  for (const c of candidates) {
    if (!c.loc) {
      errors.push(inContext(c.error, repo.name, c.raw));
      continue;
    }
    try {
      return await mirrorArchive(run, log, {
        current,
        loc: c.loc,
        headers,
        manifest: parsed.manifest,
        manifestBytes,
        manifestChanged,
        manifestUrl: source.manifestUrl,
        manifestValidators: manifestValidatorsNext,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      const e = inContext(err, repo.name, c.loc.url);
      if (candidates.length > 1) log.warn({ err: e, url: c.loc.url }, 'location failed, trying the next');
      errors.push(e);
    }
  }
  if (errors.length === 1) throw errors[0];
  throw new MirrorError(
    errors.every((e) => e instanceof ArchiveInvalidError) ? 'ARCHIVE_INVALID' : 'VEX_MIRROR_FAILED',
    `vex repository ${repo.name}: every location failed: ${errors.map((e) => e.message).join('; ')}`,
    { cause: errors[0].cause },
  );
}

interface ArchiveStep {
  current: PublishedVersion | undefined;
  loc: ArchiveLocation;
  headers: Record<string, string>;
  manifest: RepositoryManifest;
  manifestBytes: Buffer;
  manifestChanged: boolean;
  manifestUrl: string;
  manifestValidators: Validators | undefined;
}

async function mirrorArchive(run: MirrorRun, log: Logger, step: ArchiveStep): Promise<MirrorResult> {
  const { repo, config, store, http, signal } = run;
  const { current, loc } = step;
  const now = run.now().toISOString();
  const served = servedArchiveUrl(run.baseUrl, config.pathPrefix, repo.name, loc);
  const staging = await store.stagingDir();
  try {
    const archiveFile = path.join(staging, archiveFileName(loc.type));
    const sameUrl = current?.archiveUrl === loc.url && current.archiveType === loc.type;
    const got = await downloadToFile(http, loc.url, archiveFile, {
      validators: sameUrl ? current.validators.archive : undefined,
      headers: step.headers,
      signal,
      maxBytes: repo.maxArchiveBytes,
    });
    const unchangedArchive = got.notModified || got.sha256 === current?.version;
    if (current && unchangedArchive) {
      // Same archive: only the manifest (or the URL we rewrite it to) may have changed.
      const location = formatLocation(served, current.subdir);
      const republish = step.manifestChanged || location !== current.location;
      const next: PublishedVersion = {
        ...current,
        sourceUrl: upstreamUrl(repo),
        manifestUrl: step.manifestUrl,
        archiveUrl: loc.url,
        fetchedAt: now,
        publishedAt: republish ? now : current.publishedAt,
        location,
        validators: {
          manifest: step.manifestValidators,
          archive: got.notModified ? current.validators.archive : got.validators,
        },
      };
      if (republish) {
        await writeFileAtomic(store.upstreamManifestPath(current.version), step.manifestBytes);
        await writeFileAtomic(store.manifestPath(current.version), rewriteManifest(step.manifest, location));
      }
      await store.setCurrent(next);
      log.info(
        { version: current.version, republish, notModified: got.notModified },
        'vex archive unchanged',
      );
      return { changed: republish, published: next, bytes: got.notModified ? 0 : got.size };
    }
    if (got.notModified) {
      // A 304 for an archive we do not hold (state removed by hand): ask again without validators.
      throw new MirrorError('VEX_SOURCE_HTTP', `GET ${loc.url}: 304 without a stored version`);
    }

    const limits = { maxEntries: repo.maxEntries, maxUnpackedBytes: repo.maxUnpackedBytes };
    const started = Date.now();
    const staged = await stageContent(staging, archiveFile, loc.type, loc.subdir, limits, signal);
    const { subdir, summary } = staged;
    refuseRollback(repo, current, { version: got.sha256, updatedAt: summary.updatedAt }, log);
    const location = formatLocation(served, subdir);
    await commitStaged(
      store,
      staging,
      got.sha256,
      { parsed: step.manifest, bytes: step.manifestBytes },
      location,
    );

    const replaced = current && current.version !== got.sha256 ? current.version : undefined;
    const next: PublishedVersion = {
      repository: repo.name,
      version: got.sha256,
      archiveType: loc.type,
      archiveSize: got.size,
      subdir,
      sourceUrl: upstreamUrl(repo),
      manifestUrl: step.manifestUrl,
      archiveUrl: loc.url,
      updatedAt: summary.updatedAt,
      packages: summary.packages,
      fetchedAt: now,
      publishedAt: now,
      location,
      validators: { manifest: step.manifestValidators, archive: got.validators },
      previous: replaced ? { version: replaced, retiredAt: now } : current?.previous,
    };
    await store.setCurrent(next);
    log.info(
      {
        version: got.sha256,
        bytes: got.size,
        unpacked: staged.unpackedBytes,
        packages: summary.packages,
        updatedAt: summary.updatedAt,
        ms: Date.now() - started,
      },
      'vex repository published',
    );
    return { changed: true, published: next, bytes: got.size };
  } finally {
    await store.stagingRemove(staging);
  }
}

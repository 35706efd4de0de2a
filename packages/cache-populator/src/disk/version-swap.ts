// The on-disk scheme that keeps a Trivy cache dir consistent while we replace parts of it.
//
// Why symlinks: Trivy reads `db/trivy.db` and `db/metadata.json` by path (bbolt and os.Open follow
// symlinks). Each populated part is a complete, immutable directory `.trivy-mirror/<version>/`,
// and `db` (`java-db`, `policy`, `vex/repositories/NAME`) is a relative symlink to it. A swap is
// rename(2) of a new symlink over the old one, which is atomic: at every instant the path resolves to
// one complete version, never to a missing or half-written one. Renaming directories instead
// (db -> old, staging -> db) leaves a window in which `db` does not exist. The link is relative so the
// cache dir can be bind-mounted elsewhere (e.g. into a container).
//
// Reader guarantee: every lookup of `db/...` sees files of exactly one version, and a version is
// never modified after it becomes visible. A reader that resolves the directory once (realpath, or an
// open file descriptor, as bbolt keeps) reads a matching trivy.db + metadata.json pair; two separate
// path lookups that straddle a swap may see two different versions, each complete. Retired versions
// stay on disk for a grace period so such readers finish; open files survive deletion anyway.
//
// Staging dirs `.trivy-mirror-staging-<key>-<pid>-<rand>` live in the cache dir itself (same
// filesystem, so the final rename never copies). Leftovers of dead processes are removed at start.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, pidAlive } from '@trivy-mirror/oci/fs';
import { ensureDir, isErrno } from './durable-fs.js';
import { type ResolvedOwner, applyOwner } from './file-owner.js';
import type { PopulateLogger } from '../populate/populate-logger.js';

export const STATE_DIR = '.trivy-mirror';
export const STAGING_PREFIX = '.trivy-mirror-staging-';
export const LINK_PREFIX = '.trivy-mirror-link-';
const DISPLACED_PREFIX = 'displaced-';

/** Staging dirs this process is using right now (so cleanup never removes them). */
const activeStaging = new Set<string>();

function token(): string {
  return randomBytes(4).toString('hex');
}

export async function createStaging(cacheDir: string, key: string, dirMode: number): Promise<string> {
  const dir = path.join(cacheDir, `${STAGING_PREFIX}${key}-${process.pid}-${token()}`);
  await fs.mkdir(dir, { mode: dirMode });
  activeStaging.add(dir);
  return dir;
}

export async function discardStaging(dir: string): Promise<void> {
  try {
    await fs.rm(dir, { recursive: true, force: true });
  } finally {
    activeStaging.delete(dir);
  }
}

export interface CommitResult {
  version: string;
  linkTarget: string;
  previousVersion?: string;
}

/**
 * Makes `staging` the current version of `linkPath` (relative to cacheDir, e.g. 'db'): moves it into
 * `.trivy-mirror/`, then atomically points the symlink at it.
 */
export async function commitVersion(options: {
  cacheDir: string;
  staging: string;
  key: string;
  linkPath: string;
  owner: ResolvedOwner;
  dirMode: number;
  logger: PopulateLogger;
}): Promise<CommitResult> {
  const { cacheDir, staging, key, linkPath, owner, logger } = options;
  const stateDir = path.join(cacheDir, STATE_DIR);
  const version = `${key}-${Date.now().toString(36)}-${token()}`;
  const versionDir = path.join(stateDir, version);
  if (await ensureDir(stateDir, options.dirMode)) await applyOwner(stateDir, owner);
  await fs.rename(staging, versionDir);
  activeStaging.delete(staging);
  const now = new Date();
  await fs.utimes(versionDir, now, now);
  await fsyncDir(stateDir);
  await fsyncDir(cacheDir);

  const linkAbs = path.join(cacheDir, linkPath);
  const linkDir = path.dirname(linkAbs);
  if (linkDir !== cacheDir) {
    for (const created of await ensureDirs(cacheDir, linkDir, options.dirMode))
      await applyOwner(created, owner);
  }
  const linkTarget = path.relative(linkDir, versionDir);
  const tmpLink = path.join(cacheDir, `${LINK_PREFIX}${key}-${process.pid}-${token()}`);
  await fs.symlink(linkTarget, tmpLink);
  await applyOwner(tmpLink, owner);

  let previousVersion: string | undefined;
  try {
    const st = await fs.lstat(linkAbs);
    if (st.isSymbolicLink()) {
      const prev = path.resolve(linkDir, await fs.readlink(linkAbs));
      if (path.dirname(prev) === stateDir) previousVersion = path.basename(prev);
    } else if (st.isDirectory()) {
      // A real directory (Trivy's own download, a manual `tar -x`): rename(2) cannot replace a
      // non-empty directory with a symlink, so move it aside first. Only this one-time migration has
      // a (sub-millisecond) window in which the path is missing.
      const aside = path.join(stateDir, `${DISPLACED_PREFIX}${key}-${Date.now().toString(36)}-${token()}`);
      await fs.rename(linkAbs, aside);
      await fs.utimes(aside, now, now);
      logger.warn({ path: linkAbs, movedTo: aside }, 'replacing a directory not managed by trivy-mirror');
    }
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) {
      await fs.rm(tmpLink, { force: true });
      throw err;
    }
  }
  try {
    await fs.rename(tmpLink, linkAbs);
  } catch (err) {
    await fs.rm(tmpLink, { force: true });
    throw err;
  }
  await fsyncDir(linkDir);
  if (previousVersion && previousVersion !== version) {
    // The grace period for the retired version starts now (cleanup looks at mtime).
    const prevDir = path.join(stateDir, previousVersion);
    await fs.utimes(prevDir, now, now).catch(() => undefined);
  }
  return { version, linkTarget, previousVersion };
}

/** mkdir -p that reports which directories it created (to chown them). */
async function ensureDirs(root: string, dir: string, mode: number): Promise<string[]> {
  const rel = path.relative(root, dir).split(path.sep);
  const created: string[] = [];
  let cur = root;
  for (const part of rel) {
    cur = path.join(cur, part);
    if (await ensureDir(cur, mode)) created.push(cur);
  }
  return created;
}

/** The version dir a link points to, when it is one of ours. */
export async function currentVersion(cacheDir: string, linkPath: string): Promise<string | undefined> {
  const linkAbs = path.join(cacheDir, linkPath);
  try {
    const target = path.resolve(path.dirname(linkAbs), await fs.readlink(linkAbs));
    return path.dirname(target) === path.join(cacheDir, STATE_DIR) ? path.basename(target) : undefined;
  } catch {
    return undefined;
  }
}

function ownerPid(name: string): number | undefined {
  const m = /-(\d+)-[0-9a-f]{8}$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export interface CleanupResult {
  removed: string[];
}

/**
 * Removes leftovers: staging dirs and temp links of processes that are gone, and version dirs that no
 * link points to any more once they are older than `graceMs`.
 */
export async function cleanupCacheDir(
  cacheDir: string,
  options: { graceMs: number; now?: Date; logger?: PopulateLogger },
): Promise<CleanupResult> {
  const removed: string[] = [];
  const now = (options.now ?? new Date()).getTime();
  let entries: string[];
  try {
    entries = await fs.readdir(cacheDir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { removed };
    throw err;
  }
  for (const name of entries) {
    if (!name.startsWith(STAGING_PREFIX) && !name.startsWith(LINK_PREFIX)) continue;
    const full = path.join(cacheDir, name);
    if (activeStaging.has(full)) continue;
    const pid = ownerPid(name);
    // our own live staging dirs are in `activeStaging`
    if (pid !== undefined && pid !== process.pid && pidAlive(pid)) continue;
    await fs.rm(full, { recursive: true, force: true });
    removed.push(full);
  }

  const stateDir = path.join(cacheDir, STATE_DIR);
  let versions: string[];
  try {
    const dirents = await fs.readdir(stateDir, { withFileTypes: true });
    versions = dirents.filter((d) => d.isDirectory()).map((d) => d.name);
    // Temp files of state records whose writer is gone (killed mid-write): `.NAME.tmp-<pid>-<hex>`.
    for (const d of dirents) {
      const m = /\.tmp-(?:(\d+)-)?[0-9a-f]+$/.exec(d.name);
      if (!d.isFile() || !m) continue;
      const writer = m[1] === undefined ? undefined : Number(m[1]);
      if (writer !== undefined && (writer === process.pid || pidAlive(writer))) continue; // being written
      const full = path.join(stateDir, d.name);
      await fs.rm(full, { force: true });
      removed.push(full);
    }
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { removed };
    throw err;
  }
  const referenced = new Set<string>();
  const links = ['db', 'java-db', 'policy'];
  try {
    for (const name of await fs.readdir(path.join(cacheDir, 'vex', 'repositories')))
      links.push(`vex/repositories/${name}`);
  } catch {
    // no vex part
  }
  for (const link of links) {
    const v = await currentVersion(cacheDir, link);
    if (v) referenced.add(v);
  }
  for (const v of versions) {
    if (referenced.has(v)) continue;
    const full = path.join(stateDir, v);
    try {
      const st = await fs.stat(full);
      if (now - st.mtimeMs < options.graceMs) continue;
    } catch {
      continue;
    }
    await fs.rm(full, { recursive: true, force: true });
    removed.push(full);
  }
  if (removed.length)
    options.logger?.info({ cacheDir, removed: removed.length }, 'removed old versions and leftovers');
  return { removed };
}

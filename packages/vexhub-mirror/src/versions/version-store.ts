// On-disk versions of one mirrored repository: versions/<sha256>/…, a `current.json` pointer swapped atomically,
// and a grace period before replaced versions are deleted (downloads that started earlier still finish).
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pidAlive } from '@trivy-mirror/oci/fs';
import { writeFileAtomic } from './atomic-file.js';
import type { Validators } from '../upstream/conditional-fetch.js';
import type { ArchiveType } from '../upstream/location-url.js';

export const UPSTREAM_MANIFEST_FILE = 'upstream-vex-repository.json';
export const MANIFEST_FILE = 'vex-repository.json';

/** A staging folder this old is a leftover whatever its pid says (the pid may belong to another process now). */
export const STAGING_MAX_AGE_MS = 6 * 3_600_000;

// Staging folders of this process in use (by any VersionStore): cleanTemp keeps them.
const activeStaging = new Set<string>();

export function archiveFileName(type: ArchiveType): string {
  return type === 'zip' ? 'archive.zip' : 'archive.tar.gz';
}

/** What `current.json` holds: the served version and how it was obtained. */
export interface PublishedVersion {
  repository: string;
  /** sha256 (hex) of the archive bytes; also the version folder's name. */
  version: string;
  archiveType: ArchiveType;
  archiveSize: number;
  /** Folder inside the archive that holds index.json ('' = root). */
  subdir: string;
  /** The configured repository URL. */
  sourceUrl: string;
  manifestUrl: string;
  archiveUrl: string;
  /** index.json `updated_at`. */
  updatedAt: string;
  packages: number;
  /** Last time the source was checked successfully (also on 304). */
  fetchedAt: string;
  /** When this version (or its rewritten manifest) was published. */
  publishedAt: string;
  /** Location written into the rewritten manifest. */
  location: string;
  validators: { manifest?: Validators; archive?: Validators };
  /** Came by `trivy-mirror import`: when, and from which export directory. */
  importedAt?: string;
  importedFrom?: string;
  previous?: { version: string; retiredAt: string };
}

export class VersionStore {
  readonly dir: string;

  constructor(
    pluginDir: string,
    readonly repository: string,
  ) {
    this.dir = path.join(pluginDir, 'repositories', repository);
  }

  get versionsDir(): string {
    return path.join(this.dir, 'versions');
  }

  versionDir(version: string): string {
    return path.join(this.versionsDir, version);
  }

  archivePath(v: Pick<PublishedVersion, 'version' | 'archiveType'>): string {
    return path.join(this.versionDir(v.version), archiveFileName(v.archiveType));
  }

  contentDir(version: string): string {
    return path.join(this.versionDir(version), 'content');
  }

  manifestPath(version: string): string {
    return path.join(this.versionDir(version), MANIFEST_FILE);
  }

  upstreamManifestPath(version: string): string {
    return path.join(this.versionDir(version), UPSTREAM_MANIFEST_FILE);
  }

  /**
   * A fresh staging folder under tmp/, named PID-TIME-HEX: until it is committed or removed
   * (stagingRemove), cleanTemp here and in other processes leaves it alone.
   */
  async stagingDir(): Promise<string> {
    const name = `${process.pid}-${Date.now()}-${randomBytes(4).toString('hex')}`;
    const dir = path.join(this.dir, 'tmp', name);
    await mkdir(dir, { recursive: true });
    activeStaging.add(dir);
    return dir;
  }

  /** Removes a staging folder whose version is not taken. */
  async stagingRemove(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
    activeStaging.delete(dir);
  }

  /**
   * Removes the staging folders nobody uses: those of processes that are gone (an import or a daemon
   * killed with SIGKILL), this process's that nothing holds, and any older than STAGING_MAX_AGE_MS.
   * A live process's (an import running beside the daemon) stay. Returns the names removed.
   */
  async cleanTemp(): Promise<string[]> {
    const tmp = path.join(this.dir, 'tmp');
    const removed: string[] = [];
    for (const name of await readdir(tmp).catch(() => [] as string[])) {
      const dir = path.join(tmp, name);
      if (activeStaging.has(dir)) continue;
      // no pid in the name: an earlier version's folder, or not ours
      const m = /^(\d+)-(\d+)-[0-9a-f]+$/.exec(name);
      const pid = Number(m?.[1]);
      const live =
        m && pid !== process.pid && Date.now() - Number(m[2]) < STAGING_MAX_AGE_MS && pidAlive(pid);
      if (live) continue;
      await rm(dir, { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }

  async current(): Promise<PublishedVersion | undefined> {
    let text: string;
    try {
      text = await readFile(path.join(this.dir, 'current.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const cur = JSON.parse(text) as PublishedVersion;
    // A pointer to a version that is gone (manual cleanup) is no version at all.
    try {
      await stat(this.archivePath(cur));
    } catch {
      return undefined;
    }
    return cur;
  }

  /** Moves a staged version folder into versions/<version> (no-op if it already exists). */
  async commitVersion(staged: string, version: string): Promise<void> {
    await mkdir(this.versionsDir, { recursive: true });
    try {
      await rename(staged, this.versionDir(version));
      activeStaging.delete(staged);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
      await this.stagingRemove(staged);
    }
  }

  /** The switch: readers follow current.json, replaced atomically. */
  async setCurrent(next: PublishedVersion): Promise<void> {
    await writeFileAtomic(path.join(this.dir, 'current.json'), `${JSON.stringify(next, null, 2)}\n`);
  }

  /** Deletes versions that are neither current nor the previous one within its grace period. */
  async gc(current: PublishedVersion, graceMs: number, now: Date): Promise<string[]> {
    const keep = new Set([current.version]);
    const prev = current.previous;
    if (prev && now.getTime() - Date.parse(prev.retiredAt) < graceMs) keep.add(prev.version);
    let names: string[];
    try {
      names = await readdir(this.versionsDir);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const name of names) {
      if (keep.has(name)) continue;
      await rm(this.versionDir(name), { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }
}

// On-disk versions of one mirrored repository: versions/<sha256>/…, a `current.json` pointer swapped atomically,
// and a grace period before replaced versions are deleted (downloads that started earlier still finish).
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import type { Validators } from './conditional-fetch.js';
import type { ArchiveType } from './location-url.js';

export const UPSTREAM_MANIFEST_FILE = 'upstream-vex-repository.json';
export const MANIFEST_FILE = 'vex-repository.json';

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

  /** A fresh staging folder under tmp/ (removed by cleanTemp at the next run). */
  async stagingDir(): Promise<string> {
    const dir = path.join(this.dir, 'tmp', `${Date.now()}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Removes staging folders; with `olderThanMs`, only those staged that long ago (others may be in use). */
  async cleanTemp(olderThanMs?: number): Promise<void> {
    const tmp = path.join(this.dir, 'tmp');
    if (olderThanMs === undefined) {
      await rm(tmp, { recursive: true, force: true });
      return;
    }
    const names = await readdir(tmp).catch(() => [] as string[]);
    for (const name of names) {
      const staged = Number.parseInt(name, 10);
      if (Number.isNaN(staged) || Date.now() - staged > olderThanMs)
        await rm(path.join(tmp, name), { recursive: true, force: true });
    }
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
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
      await rm(staged, { recursive: true, force: true });
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

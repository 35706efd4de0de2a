// Entry names and the tree they form, shared by the zip and tar.gz readers: hostile names are refused here.
import { ArchiveInvalidError } from '@trivy-mirror/plugin-api';

export interface ArchiveLimits {
  maxEntries: number;
  maxUnpackedBytes: number;
}

/**
 * Checks one entry name and returns it without a trailing slash. Refuses what could leave the extraction
 * directory or mean different things to different tools: absolute paths, drive letters, backslashes,
 * `.`/`..`/empty segments, NUL and other control characters.
 */
export function checkEntryName(raw: string): string {
  const fail = (why: string) => new ArchiveInvalidError(`entry ${JSON.stringify(raw)}: ${why}`);
  if (raw === '') throw fail('empty name');
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw fail('control character in name');
  if (raw.includes('\\')) throw fail('backslash in name (zip-slip on Windows tools)');
  if (raw.startsWith('/')) throw fail('absolute path');
  if (/^[A-Za-z]:/.test(raw)) throw fail('drive letter in name');
  const name = raw.endsWith('/') ? raw.slice(0, -1) : raw;
  const segments = name.split('/');
  if (segments.includes('..')) throw fail('path traversal ("..") leaves the archive');
  if (segments.some((s) => s === '' || s === '.')) throw fail('empty or "." path segment');
  return name;
}

/** Collects the entries of one archive: duplicates, file/dir clashes and limits are refused as they come. */
export class ArchiveTree {
  readonly files = new Map<string, number>();
  readonly dirs = new Set<string>();
  private readonly implied = new Set<string>();
  private entries = 0;
  private unpacked = 0;

  constructor(private readonly limits: ArchiveLimits) {}

  /** Registers an entry; `name` has passed checkEntryName. */
  add(name: string, kind: 'file' | 'dir', size: number, rawName = name): void {
    this.entries++;
    if (this.entries > this.limits.maxEntries) {
      throw new ArchiveInvalidError(`more than ${this.limits.maxEntries} entries (maxEntries)`);
    }
    if (this.files.has(name) || this.dirs.has(name) || (kind === 'file' && this.implied.has(name))) {
      throw new ArchiveInvalidError(`entry ${JSON.stringify(rawName)}: duplicate entry or file/folder clash`);
    }
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (this.files.has(parent)) {
        throw new ArchiveInvalidError(`entry ${JSON.stringify(rawName)}: parent ${parent} is a file`);
      }
      this.implied.add(parent);
    }
    if (kind === 'file') {
      this.addUnpacked(size);
      this.files.set(name, size);
    } else {
      this.dirs.add(name);
    }
  }

  /** Counts unpacked bytes against maxUnpackedBytes (a zip or gzip bomb stops here). */
  addUnpacked(bytes: number): void {
    this.unpacked += bytes;
    if (this.unpacked > this.limits.maxUnpackedBytes) {
      throw new ArchiveInvalidError(
        `unpacks to more than ${this.limits.maxUnpackedBytes} bytes (maxUnpackedBytes); refusing a possible bomb`,
      );
    }
  }

  get entryCount(): number {
    return this.entries;
  }

  get unpackedBytes(): number {
    return this.unpacked;
  }

  /** Every directory, explicit or implied by a file path. */
  allDirs(): Set<string> {
    return new Set([...this.dirs, ...this.implied]);
  }

  /**
   * The folder that holds index.json: the location's `//SUBDIR` (go-getter globs allowed) when given,
   * else the archive root if it holds index.json, else the single top folder.
   */
  resolveSubdir(subdir: string | undefined): string {
    const dirs = this.allDirs();
    if (subdir !== undefined && subdir !== '') {
      if (/[*?[]/.test(subdir)) {
        const re = globToRegExp(subdir);
        const hits = [...dirs].filter((d) => re.test(d));
        if (hits.length !== 1) {
          throw new ArchiveInvalidError(
            `subdir ${subdir} matches ${hits.length} folders, expected exactly one`,
          );
        }
        return hits[0];
      }
      if (!dirs.has(subdir))
        throw new ArchiveInvalidError(`subdir ${subdir} (from the location's //SUBDIR) is missing`);
      return subdir;
    }
    if (subdir === '' || this.files.has('index.json')) return '';
    const tops = new Set([...this.files.keys(), ...this.dirs].map((n) => n.split('/')[0]));
    const [top] = tops;
    if (tops.size !== 1 || !dirs.has(top)) {
      throw new ArchiveInvalidError(
        `expected exactly one top folder (or index.json at the root), found ${tops.size} top-level entries`,
      );
    }
    return top;
  }
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|\]\\[]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

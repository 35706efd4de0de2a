// OCI image layout on disk (oci-layout, index.json, blobs/sha256/…). Every write is atomic: a temp
// file in the layout's `.tmp/`, verified, fsynced and renamed; index.json is replaced the same way
// under a per-layout mutex that also orders processes (layout-lock). Tags are
// `org.opencontainers.image.ref.name` annotations. Temp files, garbage collection, index entries and
// write-back are in layout-temp, -gc, -index-entries, -writeback.
import { createReadStream, createWriteStream } from 'node:fs';
import { type FileHandle, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createVerifyStream, isDigest, sha256Digest } from '../digest.js';
import { isOciError, OciError, OciErrorCode } from '../errors.js';
import { fsyncDir, writeNewFile } from '../fs.js';
import { collectGarbage, type GcOptions, referencedBlobs } from './layout-gc.js';
import {
  dedupeUntagged,
  type LayoutIndex,
  readIndex,
  serializeIndex,
  untagged,
} from './layout-index-entries.js';
import { quarantineFile } from './layout-quarantine.js';
import { cleanLayoutTemp, layoutTempPath, releaseTemp } from './layout-temp.js';
import { opened, startWriteback, WRITEBACK_BYTES, type Writeback } from './layout-writeback.js';
import { parseManifest } from '../registry/manifest.js';
import { layoutMutex } from './layout-lock.js';
import { mkdirp } from '../mkdirp.js';
import { Annotation, type Descriptor, type ManifestBytes } from '../types.js';

export const LAYOUT_VERSION_BYTES = '{"imageLayoutVersion":"1.0.0"}';

export interface BlobWriteOptions {
  signal?: AbortSignal;
  /**
   * The source checks size and digest itself and fails before its last byte when they are wrong
   * (a blobGet stream): written without hashing it again. The download's hash is the one check.
   */
  sourceVerified?: boolean;
}

export type { LayoutIndex } from './layout-index-entries.js';

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

export class OciLayout {
  readonly dir: string;
  private readonly mutex;

  private constructor(dir: string) {
    this.dir = dir;
    this.mutex = layoutMutex(dir);
  }

  /** Opens a layout; creates it when `create` is set, else LAYOUT_INVALID if it is missing or malformed. */
  static async open(dir: string, options: { create?: boolean } = {}): Promise<OciLayout> {
    const layout = new OciLayout(resolve(dir));
    const marker = join(layout.dir, 'oci-layout');
    let text: string | undefined;
    try {
      text = await readFile(marker, 'utf8');
    } catch {
      text = undefined;
    }
    if (text === undefined) {
      if (!options.create) {
        throw new OciError(
          OciErrorCode.LAYOUT_INVALID,
          `${layout.dir} is not an OCI image layout (no oci-layout file)`,
          { target: layout.dir },
        );
      }
      await layout.init();
      return layout;
    }
    let version: unknown;
    try {
      version = (JSON.parse(text) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
    } catch (err) {
      throw new OciError(OciErrorCode.LAYOUT_INVALID, `${marker} is not valid JSON`, {
        target: layout.dir,
        cause: err,
      });
    }
    if (typeof version !== 'string' || !version.startsWith('1.')) {
      throw new OciError(
        OciErrorCode.LAYOUT_INVALID,
        `${marker}: unsupported imageLayoutVersion ${String(version)}`,
        { target: layout.dir },
      );
    }
    await mkdirp(join(layout.dir, 'blobs', 'sha256'));
    return layout;
  }

  private async init(): Promise<void> {
    try {
      await mkdirp(join(this.dir, 'blobs', 'sha256'));
    } catch (err) {
      throw new OciError(
        OciErrorCode.LAYOUT_INVALID,
        `cannot create the layout ${this.dir}: ${(err as Error).message}`,
        { target: this.dir, cause: err },
      );
    }
    await this.mutex.runExclusive(async () => {
      if (!(await exists(join(this.dir, 'index.json')))) {
        await this.writeAtomic('index.json', Buffer.from(serializeIndex([])));
      }
      if (!(await exists(join(this.dir, 'oci-layout')))) {
        await this.writeAtomic('oci-layout', Buffer.from(LAYOUT_VERSION_BYTES));
      }
    });
  }

  blobPath(digest: string): string {
    if (!isDigest(digest)) {
      throw new OciError(OciErrorCode.BLOB_UNKNOWN, `"${digest}" is not a sha256 digest`, {
        target: this.dir,
      });
    }
    return join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  blobHas(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  /** Raw bytes, unverified (for serving ranges); `end` is inclusive, like HTTP ranges. */
  blobOpen(digest: string, options: { start?: number; end?: number } = {}): Readable {
    return createReadStream(this.blobPath(digest), { start: options.start, end: options.end });
  }

  /** Writes a blob from `source` via temp file, verifying size and digest; a no-op when present. */
  async blobWrite(descriptor: Descriptor, source: Readable, options: BlobWriteOptions = {}): Promise<void> {
    const path = this.blobPath(descriptor.digest);
    if (await exists(path)) {
      source.destroy();
      await touch(path);
      return;
    }
    const tmp = await this.tempPath();
    const out = createWriteStream(tmp, { flags: 'wx' });
    // fsync is per file, not per descriptor: a second descriptor flushes what the stream wrote
    let syncer: FileHandle | undefined;
    let writeback: Writeback | undefined;
    try {
      if (descriptor.size >= WRITEBACK_BYTES * 2) {
        await opened(out);
        syncer = await open(tmp, 'r');
        writeback = startWriteback(out, syncer);
      }
      if (options.sourceVerified) await pipeline(source, out, { signal: options.signal });
      else await pipeline(source, createVerifyStream(descriptor), out, { signal: options.signal });
      await writeback?.stop();
      syncer ??= await open(tmp, 'r');
      await syncer.sync();
      await syncer.close();
      syncer = undefined;
      await rename(tmp, path);
      await fsyncDir(join(this.dir, 'blobs', 'sha256'));
    } catch (err) {
      if (!source.destroyed) source.destroy();
      await writeback?.stop();
      await syncer?.close().catch(() => undefined);
      // A source that fails at once can beat the file's open: wait for the stream to close, or the
      // temp file would be created after we removed it.
      if (!out.closed) await new Promise<void>((done) => out.once('close', () => done()));
      await rm(tmp, { force: true });
      if (options.signal?.aborted) {
        throw new OciError(OciErrorCode.ABORTED, `writing ${descriptor.digest} to ${this.dir} aborted`, {
          target: this.dir,
          cause: err,
        });
      }
      throw err;
    } finally {
      releaseTemp(tmp);
    }
  }

  /** Writes small content (manifests, configs) as a blob; returns its digest. */
  async blobWriteBytes(bytes: Buffer): Promise<string> {
    const digest = sha256Digest(bytes);
    await this.blobWrite(
      { mediaType: 'application/octet-stream', digest, size: bytes.length },
      Readable.from([bytes]),
    );
    return digest;
  }

  index(): Promise<LayoutIndex> {
    return readIndex(this.dir);
  }

  /**
   * Replaces an index.json that is not a readable image index (torn, cut short, hand-edited) with the
   * entries `rebuild` returns, under the index lock; a copy of the bad file goes to quarantine/.
   * Returns that copy's path ('' when there was no file), undefined when index.json was fine.
   */
  indexRecover(rebuild: () => Promise<Descriptor[]>): Promise<string | undefined> {
    return this.mutex.runExclusive(async () => {
      try {
        await this.index();
        return undefined;
      } catch (err) {
        if (!isOciError(err, OciErrorCode.LAYOUT_INVALID)) throw err;
      }
      const manifests = await rebuild();
      const kept = await quarantineFile(this.dir, join(this.dir, 'index.json'), 'index.json', {
        copy: true,
      }).catch(() => '');
      await this.writeAtomic('index.json', Buffer.from(serializeIndex(manifests)));
      return kept;
    });
  }

  /** Atomically replaces index.json (temp, fsync, rename, fsync dir). */
  indexWrite(manifests: Descriptor[]): Promise<void> {
    return this.mutex.runExclusive(() =>
      this.writeAtomic('index.json', Buffer.from(serializeIndex(manifests))),
    );
  }

  /** Read-modify-write of the index under the layout's mutex. */
  async indexUpdate(change: (manifests: Descriptor[]) => Descriptor[] | undefined): Promise<void> {
    await this.mutex.runExclusive(async () => {
      const next = change((await this.index()).manifests);
      if (next) await this.writeAtomic('index.json', Buffer.from(serializeIndex(next)));
    });
  }

  async tags(): Promise<string[]> {
    const out: string[] = [];
    for (const m of (await this.index()).manifests) {
      const tag = m.annotations?.[Annotation.RefName];
      if (tag !== undefined && !out.includes(tag)) out.push(tag);
    }
    return out;
  }

  /**
   * The descriptor for a tag or digest. A digest that is not in index.json (a child of an index)
   * resolves from its blob. An empty string picks the only manifest of a single-manifest layout.
   */
  async resolve(tagOrDigest: string): Promise<Descriptor | undefined> {
    const manifests = (await this.index()).manifests;
    if (tagOrDigest === '') return manifests.length === 1 ? manifests[0] : undefined;
    if (isDigest(tagOrDigest)) {
      const hit = manifests.find((m) => m.digest === tagOrDigest);
      if (hit) return hit;
      if (!(await this.blobHas(tagOrDigest))) return undefined;
      const bytes = await readFile(this.blobPath(tagOrDigest));
      try {
        return parseManifest(bytes, undefined, tagOrDigest).descriptor;
      } catch {
        return undefined;
      }
    }
    // the last entry wins, like skopeo's reader when a tag was written twice
    return manifests.filter((m) => m.annotations?.[Annotation.RefName] === tagOrDigest).at(-1);
  }

  /** The manifest for a tag or digest, digest-verified; undefined when absent. */
  async manifestGet(tagOrDigest: string): Promise<ManifestBytes | undefined> {
    const desc = await this.resolve(tagOrDigest);
    if (!desc) return undefined;
    let bytes: Buffer;
    try {
      bytes = await readFile(this.blobPath(desc.digest));
    } catch {
      return undefined;
    }
    const digest = sha256Digest(bytes);
    if (digest !== desc.digest) {
      throw new OciError(
        OciErrorCode.DIGEST_MISMATCH,
        `manifest blob ${desc.digest} in ${this.dir} hashes to ${digest}`,
        { target: this.dir },
      );
    }
    const parsed = parseManifest(bytes, desc.mediaType, `manifest ${tagOrDigest} in ${this.dir}`);
    return { ...parsed, descriptor: { ...parsed.descriptor, mediaType: desc.mediaType } };
  }

  /**
   * Writes the manifest blob, then index.json. With a tag the tag moves to this manifest (the
   * previously tagged entry is dropped unless `keepUntagged`); without a tag an untagged entry is added.
   */
  async manifestPut(
    bytes: Buffer,
    mediaType: string,
    options: { tag?: string; annotations?: Record<string, string>; keepUntagged?: boolean } = {},
  ): Promise<Descriptor> {
    const digest = await this.blobWriteBytes(bytes);
    const parsed = parseManifest(bytes, mediaType, 'manifest');
    const entry: Descriptor = { mediaType, digest, size: bytes.length };
    if (parsed.manifest.artifactType) entry.artifactType = parsed.manifest.artifactType;
    const annotations = { ...options.annotations };
    if (options.tag) annotations[Annotation.RefName] = options.tag;
    if (Object.keys(annotations).length > 0) entry.annotations = annotations;
    // children of an index are reachable through it: their untagged entries are no longer needed
    const children = new Set(
      ((parsed.manifest as { manifests?: Descriptor[] }).manifests ?? []).map((d) => d.digest),
    );
    await this.indexUpdate((manifests) => {
      const next: Descriptor[] = [];
      for (const m of manifests) {
        const tag = m.annotations?.[Annotation.RefName];
        if (tag === undefined && children.has(m.digest)) continue;
        if (options.tag && tag === options.tag) {
          if (options.keepUntagged && m.digest !== digest) next.push(untagged(m));
          continue;
        }
        if (!options.tag && m.digest === digest && tag === undefined) continue;
        next.push(m);
      }
      next.push(entry);
      return dedupeUntagged(next);
    });
    return entry;
  }

  /** Removes a tag; the manifest stays as an untagged entry when `keepUntagged`, else it goes. */
  async untag(tag: string, options: { keepUntagged?: boolean } = {}): Promise<boolean> {
    let found = false;
    await this.indexUpdate((manifests) => {
      const next: Descriptor[] = [];
      for (const m of manifests) {
        if (m.annotations?.[Annotation.RefName] !== tag) next.push(m);
        else {
          found = true;
          if (options.keepUntagged) next.push(untagged(m));
        }
      }
      return found ? dedupeUntagged(next) : undefined;
    });
    return found;
  }

  /** Removes every index entry for `digest` (tagged or not). Blobs go at the next gc. */
  async manifestDelete(digest: string): Promise<boolean> {
    let found = false;
    await this.indexUpdate((manifests) => {
      const next = manifests.filter((m) => m.digest !== digest);
      found = next.length !== manifests.length;
      return found ? next : undefined;
    });
    return found;
  }

  /** Every blob reachable from index.json (or `manifests`): manifests, children, configs, layers, subjects. */
  async referenced(manifests?: Descriptor[]): Promise<Set<string>> {
    return referencedBlobs(this, manifests ?? (await this.index()).manifests);
  }

  /**
   * Removes blobs nothing references that are older than `graceMs` (default 15 min), so a reader
   * that resolved a manifest before a swap can still finish reading its blobs. `dryRun` only lists
   * them, without the lock file (a store it may only read); `index`: as if index.json held those.
   */
  gc(options: GcOptions = {}): Promise<{ removed: string[]; bytes: number }> {
    return (options.dryRun ? this.mutex.inProcess : this.mutex).runExclusive(async () =>
      collectGarbage(this, await this.referenced(options.index), options),
    );
  }

  /**
   * Removes leftovers of interrupted writes (not those of writes still running here). Returns the count.
   * `removeDir`: the empty `.tmp/` folder too (a tree handed on, such as an export).
   */
  cleanTemp(options: { removeDir?: boolean } = {}): Promise<number> {
    return cleanLayoutTemp(this.dir, options);
  }

  private tempPath(): Promise<string> {
    return layoutTempPath(this.dir);
  }

  /** Writes `name` in the layout root atomically. Caller holds the mutex for index.json. */
  private async writeAtomic(name: string, bytes: Buffer): Promise<void> {
    const tmp = await this.tempPath();
    try {
      await writeNewFile(tmp, bytes);
      await rename(tmp, join(this.dir, name));
      await fsyncDir(this.dir);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    } finally {
      releaseTemp(tmp);
    }
  }
}

async function touch(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => undefined);
}

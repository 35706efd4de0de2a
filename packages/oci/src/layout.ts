// OCI image layout on disk (oci-layout, index.json, blobs/sha256/…). Every write is atomic: a temp
// file in the layout's `.tmp/`, verified, fsynced and renamed; index.json is replaced the same way
// under a per-layout mutex. Tags are `org.opencontainers.image.ref.name` annotations.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { type FileHandle, open, readdir, readFile, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createVerifyStream, isDigest, sha256Digest } from './digest.js';
import { OciError, OciErrorCode } from './errors.js';
import { fsyncDir, pidAlive, writeNewFile } from './fs.js';
import { parseManifest } from './manifest.js';
import { mkdirp } from './mkdirp.js';
import { mutexFor } from './mutex.js';
import { Annotation, type Descriptor, MANIFEST_MAX_BYTES, MediaType, type ManifestBytes } from './types.js';

export const LAYOUT_VERSION_BYTES = '{"imageLayoutVersion":"1.0.0"}';
const TMP_DIR = '.tmp';
const DEFAULT_GC_GRACE_MS = 15 * 60_000;

export interface BlobWriteOptions {
  signal?: AbortSignal;
  /**
   * The source checks size and digest itself and fails before its last byte when they are wrong
   * (a blobGet stream): written without hashing it again. The download's hash is the one check.
   */
  sourceVerified?: boolean;
}

export interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

// temp files of writes in flight in this process: cleanTemp must not remove them
const activeTemp = new Set<string>();

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export class OciLayout {
  readonly dir: string;
  private readonly mutex;

  private constructor(dir: string) {
    this.dir = dir;
    this.mutex = mutexFor(dir);
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
          {
            target: layout.dir,
          },
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
        {
          target: layout.dir,
        },
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
      activeTemp.delete(tmp);
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

  async index(): Promise<LayoutIndex> {
    let text: string;
    try {
      text = await readFile(join(this.dir, 'index.json'), 'utf8');
    } catch (err) {
      throw new OciError(OciErrorCode.LAYOUT_INVALID, `${this.dir}/index.json cannot be read`, {
        target: this.dir,
        cause: err,
      });
    }
    try {
      const parsed = JSON.parse(text) as LayoutIndex;
      if (parsed.schemaVersion !== 2 || !Array.isArray(parsed.manifests))
        throw new Error('not an image index');
      return parsed;
    } catch (err) {
      throw new OciError(OciErrorCode.LAYOUT_INVALID, `${this.dir}/index.json is not a valid image index`, {
        target: this.dir,
        cause: err,
      });
    }
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
        {
          target: this.dir,
        },
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
    const seen = new Set<string>();
    const queue = (manifests ?? (await this.index()).manifests).map((m) => m.digest);
    while (queue.length > 0) {
      const digest = queue.pop()!;
      if (seen.has(digest)) continue;
      seen.add(digest);
      let json: {
        manifests?: Descriptor[];
        config?: Descriptor;
        layers?: Descriptor[];
        subject?: Descriptor;
      };
      try {
        if ((await stat(this.blobPath(digest))).size > MANIFEST_MAX_BYTES) continue; // not a manifest
        json = JSON.parse(await readFile(this.blobPath(digest), 'utf8'));
      } catch {
        continue; // missing or not JSON: a leaf
      }
      // Only manifests are read; layers and configs are leaves (and layers can be gigabytes).
      for (const d of json.manifests ?? []) queue.push(d.digest);
      for (const d of json.layers ?? []) seen.add(d.digest);
      if (json.config) seen.add(json.config.digest);
      if (json.subject) queue.push(json.subject.digest);
    }
    return seen;
  }

  /**
   * Removes blobs nothing references that are older than `graceMs` (default 15 min), so a reader
   * that resolved a manifest before a swap can still finish reading its blobs. `dryRun` only lists
   * them; `index` asks what would go if index.json held those entries (a prune's plan).
   */
  async gc(
    options: {
      graceMs?: number;
      keep?: (digest: string) => boolean;
      dryRun?: boolean;
      index?: Descriptor[];
    } = {},
  ): Promise<{ removed: string[]; bytes: number }> {
    const grace = options.graceMs ?? DEFAULT_GC_GRACE_MS;
    return this.mutex.runExclusive(async () => {
      const live = await this.referenced(options.index);
      const removed: string[] = [];
      let bytes = 0;
      const dir = join(this.dir, 'blobs', 'sha256');
      const now = Date.now();
      for (const name of await readdir(dir)) {
        if (!/^[a-f0-9]{64}$/.test(name)) continue;
        const digest = `sha256:${name}`;
        if (live.has(digest) || options.keep?.(digest)) continue;
        const path = join(dir, name);
        const st = await stat(path).catch(() => undefined);
        if (!st || now - st.mtimeMs < grace) continue;
        if (!options.dryRun) await unlink(path).catch(() => undefined);
        removed.push(digest);
        bytes += st.size;
      }
      return { removed, bytes };
    });
  }

  /** Removes leftovers of interrupted writes (not those of writes still running here). Returns the count. */
  async cleanTemp(): Promise<number> {
    let n = 0;
    const tmpDir = join(this.dir, TMP_DIR);
    for (const name of await readdir(tmpDir).catch(() => [] as string[])) {
      const path = join(tmpDir, name);
      if (activeTemp.has(path)) continue;
      // temp names start with the writer's pid: another live process (a CLI sync) may still be writing
      const owner = Number(/^(\d+)-/.exec(name)?.[1] ?? Number.NaN);
      if (owner !== process.pid && pidAlive(owner)) continue;
      await rm(path, { force: true, recursive: true });
      n++;
    }
    // temp files other tools leave beside the blobs or the index
    for (const dir of [this.dir, join(this.dir, 'blobs', 'sha256')]) {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!name.startsWith('.tmp-') && !/^index\.json\.tmp/.test(name)) continue;
        const path = join(dir, name);
        if (activeTemp.has(path)) continue;
        await rm(path, { force: true, recursive: true });
        n++;
      }
    }
    return n;
  }

  private async tempPath(): Promise<string> {
    const dir = join(this.dir, TMP_DIR);
    await mkdirp(dir);
    const path = join(dir, `${process.pid}-${randomBytes(8).toString('hex')}`);
    activeTemp.add(path);
    return path;
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
      activeTemp.delete(tmp);
    }
  }
}

function serializeIndex(manifests: Descriptor[]): string {
  return `${JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }, null, 2)}\n`;
}

function untagged(m: Descriptor): Descriptor {
  const { [Annotation.RefName]: _tag, ...rest } = m.annotations ?? {};
  const out: Descriptor = { ...m };
  if (Object.keys(rest).length > 0) out.annotations = rest;
  else delete out.annotations;
  return out;
}

/** One untagged entry per digest, and none for a digest that also has a tagged entry. */
function dedupeUntagged(manifests: Descriptor[]): Descriptor[] {
  const tagged = new Set(manifests.filter((m) => m.annotations?.[Annotation.RefName]).map((m) => m.digest));
  const seen = new Set<string>();
  return manifests.filter((m) => {
    if (m.annotations?.[Annotation.RefName]) return true;
    if (tagged.has(m.digest) || seen.has(m.digest)) return false;
    seen.add(m.digest);
    return true;
  });
}

async function touch(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => undefined);
}

/** A large blob's written part goes to disk every this many bytes while the rest still streams. */
const WRITEBACK_BYTES = 32 * 1024 * 1024;

interface Writeback {
  /** Stops issuing flushes and waits for the one in flight. */
  stop(): Promise<void>;
}

/**
 * Flushes what `out` has written so far (one fdatasync in flight, on a descriptor of our own), so
 * the fsync before the rename only waits for the tail: a 1 GB blob otherwise waits seconds for the
 * disk after its last byte arrived. A failed flush is left to that final fsync to report.
 */
function startWriteback(out: WriteStream, syncer: FileHandle): Writeback {
  let flushed = 0;
  let inFlight: Promise<void> | undefined;
  const timer = setInterval(() => {
    const written = out.bytesWritten;
    if (inFlight || written - flushed < WRITEBACK_BYTES) return;
    inFlight = syncer
      .datasync()
      .then(
        () => {
          flushed = written;
        },
        () => undefined,
      )
      .finally(() => {
        inFlight = undefined;
      });
  }, 50);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}

/** Resolves once the write stream has created its file; rejects if it could not. */
function opened(out: WriteStream): Promise<void> {
  if (!out.pending) return Promise.resolve();
  if (out.errored) return Promise.reject(out.errored);
  return new Promise((resolve, reject) => {
    const onOpen = () => {
      out.off('error', onError);
      resolve();
    };
    const onError = (err: Error) => {
      out.off('open', onOpen);
      reject(err);
    };
    out.once('open', onOpen);
    out.once('error', onError);
  });
}

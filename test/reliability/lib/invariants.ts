// The invariants every reliability run ends with, written once: blobs match their digests (store and
// destination registries), no destination manifest references a missing blob, every cache part is one
// complete version, no temp leftovers after a restart, every logged failure has a cause, /healthz answers.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';

export type Violations = string[];

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** True when `path` exists (anything stat() can see). */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

interface ManifestLike {
  mediaType?: string;
  config?: { digest: string };
  layers?: { digest: string }[];
  manifests?: { digest: string }[];
}

function referencedDigests(m: ManifestLike): string[] {
  return [
    ...(m.config ? [m.config.digest] : []),
    ...(m.layers ?? []).map((l) => l.digest),
    ...(m.manifests ?? []).map((l) => l.digest),
  ];
}

/** stateDir/oci/<repo>: every blob hashes to its name; every indexed manifest has all its blobs. */
export async function checkStore(stateDir: string): Promise<Violations> {
  const out: Violations = [];
  const ociRoot = join(stateDir, 'oci');
  for (const repo of await list(ociRoot)) {
    const layout = join(ociRoot, repo);
    const blobDir = join(layout, 'blobs', 'sha256');
    for (const name of await list(blobDir)) {
      const actual = await sha256File(join(blobDir, name)).catch((e: Error) => `unreadable: ${e.message}`);
      if (actual !== name) out.push(`store ${repo}: blob sha256:${name} holds ${actual}`);
    }
    let index: { manifests?: { digest: string }[] } | undefined;
    try {
      index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
    } catch (err) {
      if (await exists(join(layout, 'index.json')))
        out.push(`store ${repo}: index.json unreadable: ${(err as Error).message}`);
      continue;
    }
    for (const m of index?.manifests ?? []) {
      const hex = m.digest.replace(/^sha256:/, '');
      let manifest: ManifestLike;
      try {
        manifest = JSON.parse(await readFile(join(blobDir, hex), 'utf8'));
      } catch {
        out.push(`store ${repo}: index.json names ${m.digest}, whose blob is missing`);
        continue;
      }
      for (const d of referencedDigests(manifest)) {
        if (!(await exists(join(blobDir, d.replace(/^sha256:/, '')))))
          out.push(`store ${repo}: manifest ${m.digest} references missing blob ${d}`);
      }
    }
  }
  return out;
}

/**
 * A distribution registry's filesystem storage: every blob's data hashes to its digest; every tag's
 * manifest exists and every blob it references is present and linked into the repository.
 */
export async function checkRegistryStorage(storageDir: string): Promise<Violations> {
  const out: Violations = [];
  const v2 = join(storageDir, 'docker', 'registry', 'v2');
  const blobRoot = join(v2, 'blobs', 'sha256');
  const present = new Set<string>();
  for (const prefix of await list(blobRoot)) {
    for (const hex of await list(join(blobRoot, prefix))) {
      const data = join(blobRoot, prefix, hex, 'data');
      if (!(await exists(data))) continue;
      present.add(hex);
      const actual = await sha256File(data).catch((e: Error) => `unreadable: ${e.message}`);
      if (actual !== hex) out.push(`registry: blob sha256:${hex} holds ${actual}`);
    }
  }
  const repos: string[] = [];
  const findRepos = async (dir: string, rel: string) => {
    const names = await list(dir);
    if (names.includes('_manifests')) repos.push(rel);
    for (const n of names) {
      if (n.startsWith('_')) continue;
      if ((await stat(join(dir, n)).catch(() => undefined))?.isDirectory())
        await findRepos(join(dir, n), rel ? `${rel}/${n}` : n);
    }
  };
  await findRepos(join(v2, 'repositories'), '');
  for (const repo of repos) {
    const repoDir = join(v2, 'repositories', ...repo.split('/'));
    const tagsDir = join(repoDir, '_manifests', 'tags');
    for (const tag of await list(tagsDir)) {
      let link: string;
      try {
        link = (await readFile(join(tagsDir, tag, 'current', 'link'), 'utf8')).trim();
      } catch {
        continue; // a tag being written
      }
      const hex = link.replace(/^sha256:/, '');
      if (!present.has(hex)) {
        out.push(`registry ${repo}:${tag}: manifest ${link} missing`);
        continue;
      }
      const manifest = JSON.parse(
        await readFile(join(blobRoot, hex.slice(0, 2), hex, 'data'), 'utf8'),
      ) as ManifestLike;
      for (const d of referencedDigests(manifest)) {
        const h = d.replace(/^sha256:/, '');
        if (!present.has(h))
          out.push(`registry ${repo}:${tag}: manifest ${link} references missing blob ${d}`);
        else if (!(await exists(join(repoDir, '_layers', 'sha256', h, 'link'))) && !manifest.manifests)
          out.push(`registry ${repo}:${tag}: blob ${d} not linked into the repository`);
      }
    }
  }
  return out;
}

interface LayerContent {
  dbSha?: string;
  dbSize?: number;
  metadata?: Record<string, unknown>;
}

/** What a trivy-db / trivy-java-db layer holds (db file hash and metadata.json). */
async function readDbLayer(path: string, dbFile: string): Promise<LayerContent | undefined> {
  const head = Buffer.alloc(2);
  const fh = await import('node:fs/promises').then((f) => f.open(path, 'r'));
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) return undefined;
  const out: LayerContent = {};
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const name = header.name.replace(/^\.\//, '');
    const h = createHash('sha256');
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (name === dbFile) h.update(c);
      else if (name === 'metadata.json') chunks.push(c);
    });
    stream.on('end', () => {
      if (name === dbFile) {
        out.dbSha = h.digest('hex');
        out.dbSize = size;
      } else if (name === 'metadata.json') {
        try {
          out.metadata = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          // not ours to judge here
        }
      }
      next();
    });
    stream.resume();
  });
  try {
    await pipeline(createReadStream(path), createGunzip(), extract);
  } catch {
    return undefined;
  }
  return out;
}

const layerCache = new Map<string, LayerContent | undefined>();

const DB_PARTS = [
  { link: 'db', repo: 'trivy-db', dbFile: 'trivy.db', key: 'db' },
  { link: 'java-db', repo: 'trivy-java-db', dbFile: 'trivy-java.db', key: 'java-db' },
] as const;

/**
 * A cache dir: each part is a link to one complete version; for the databases trivy.db and
 * metadata.json belong together (the db matches a layer in the store whose metadata.json has the same
 * UpdatedAt/NextUpdate/Version, or the part's state record names exactly these files).
 */
export async function checkCacheDir(cacheDir: string, stateDir: string): Promise<Violations> {
  const out: Violations = [];
  if (!(await exists(cacheDir))) return out;
  for (const part of DB_PARTS) {
    const linkPath = join(cacheDir, part.link);
    const st = await lstat(linkPath).catch(() => undefined);
    if (!st) continue;
    const dir = st.isSymbolicLink() ? resolve(cacheDir, await readlink(linkPath)) : linkPath;
    const dbPath = join(dir, part.dbFile);
    const metaPath = join(dir, 'metadata.json');
    const hasDb = await exists(dbPath);
    const hasMeta = await exists(metaPath);
    if (!hasDb || !hasMeta) {
      out.push(`cache ${part.link}: incomplete version (trivy db ${hasDb}, metadata.json ${hasMeta})`);
      continue;
    }
    let meta: Record<string, unknown>;
    try {
      meta = JSON.parse(await readFile(metaPath, 'utf8'));
    } catch (err) {
      out.push(`cache ${part.link}: metadata.json unreadable: ${(err as Error).message}`);
      continue;
    }
    if (!meta.DownloadedAt || String(meta.DownloadedAt).startsWith('0001'))
      out.push(`cache ${part.link}: metadata.json has no DownloadedAt`);
    const dbSha = await sha256File(dbPath);
    const blobDir = join(stateDir, 'oci', part.repo, 'blobs', 'sha256');
    let matched = false;
    let sawLayer = false;
    for (const name of await list(blobDir)) {
      // blobs are content-addressed: read each once per process
      let layer = layerCache.get(name);
      if (!layerCache.has(name)) {
        layer = await readDbLayer(join(blobDir, name), part.dbFile);
        layerCache.set(name, layer);
      }
      if (!layer?.dbSha) continue;
      sawLayer = true;
      if (layer.dbSha !== dbSha) continue;
      const m = layer.metadata ?? {};
      if (m.UpdatedAt === meta.UpdatedAt && m.NextUpdate === meta.NextUpdate && m.Version === meta.Version) {
        matched = true;
        break;
      }
    }
    if (matched) continue;
    // the store may have dropped the layer (gc): fall back to the part's own record
    const record = await readFile(join(cacheDir, '.trivy-mirror', `state-${part.key}.json`), 'utf8')
      .then(
        (t) =>
          JSON.parse(t) as { metadata?: Record<string, unknown>; files?: Record<string, { size: number }> },
      )
      .catch(() => undefined);
    const dbStat = await stat(dbPath);
    const recordMatches =
      record?.metadata?.UpdatedAt === meta.UpdatedAt &&
      record?.metadata?.NextUpdate === meta.NextUpdate &&
      record?.files?.[part.dbFile]?.size === dbStat.size;
    if (!recordMatches)
      out.push(
        `cache ${part.link}: ${part.dbFile} (sha256 ${dbSha.slice(0, 12)}) and metadata.json (UpdatedAt ${String(meta.UpdatedAt)}) match no stored layer${sawLayer ? '' : ' (store empty)'} and no state record`,
      );
  }
  // checks bundle: metadata.json names a digest and the content folder is there
  const policy = join(cacheDir, 'policy');
  if (await lstat(policy).catch(() => undefined)) {
    const meta = await readFile(join(policy, 'metadata.json'), 'utf8')
      .then((t) => JSON.parse(t) as { Digest?: string })
      .catch(() => undefined);
    if (!meta?.Digest) out.push('cache policy: metadata.json missing or without Digest');
    if (!(await exists(join(policy, 'content')))) out.push('cache policy: content/ missing');
  }
  for (const name of await list(join(cacheDir, 'vex', 'repositories'))) {
    const dir = join(cacheDir, 'vex', 'repositories', name);
    for (const f of ['cache.json', 'vex-repository.json']) {
      const ok = await readFile(join(dir, f), 'utf8')
        .then((t) => JSON.parse(t) !== undefined)
        .catch(() => false);
      if (!ok) out.push(`cache vex/${name}: ${f} missing or unreadable`);
    }
  }
  return out;
}

const TEMP_PATTERNS = [
  /^\.tmp-/,
  /\.tmp$/,
  /\.tmp-[0-9a-f]+$/,
  /^\.trivy-mirror-staging-/,
  /^\.trivy-mirror-link-/,
];

/** Leftovers of interrupted writes anywhere under `roots` (`.tmp-*`, `*.tmp`, staging dirs, non-empty temp folders). */
export async function checkNoTempFiles(roots: string[]): Promise<Violations> {
  const out: Violations = [];
  const walk = async (dir: string, depth: number) => {
    if (depth > 12) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      // temp folders that must be empty when nothing runs: a layout's .tmp/, vexhub-mirror's tmp/
      if (e.isDirectory() && (e.name === '.tmp' || (e.name === 'tmp' && dir.includes('vexhub-mirror')))) {
        for (const inner of await list(full)) out.push(`temp leftover: ${join(full, inner)}`);
        continue;
      }
      if (TEMP_PATTERNS.some((re) => re.test(e.name))) {
        out.push(`temp leftover: ${full}`);
        continue;
      }
      if (e.isDirectory()) await walk(full, depth + 1);
    }
  };
  for (const r of roots) await walk(r, 0);
  return out;
}

/** Every error-level log line (pino level >= 50) carries an `err` with a message. */
export function checkErrorLogs(lines: Record<string, unknown>[]): Violations {
  const out: Violations = [];
  for (const l of lines) {
    if (typeof l.level !== 'number' || l.level < 50) continue;
    const err = l.err as { message?: unknown } | undefined;
    if (!err || typeof err.message !== 'string' || err.message === '')
      out.push(`error log without a cause: ${JSON.stringify(l).slice(0, 300)}`);
  }
  return out;
}

/** The daemon answers /healthz with 200. */
export async function checkHealthz(adminUrl: string): Promise<Violations> {
  try {
    const res = await fetch(`${adminUrl}/healthz`, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status === 200 ? [] : [`/healthz answered ${res.status}`];
  } catch (err) {
    return [`/healthz did not answer: ${(err as Error).message}`];
  }
}

export interface InvariantTargets {
  stateDir: string;
  cacheDirs?: string[];
  /** Storage dirs of destination registries. */
  registryStorage?: string[];
  /** Check for temp leftovers (only after a restart, when nothing runs). */
  temp?: boolean;
  logs?: Record<string, unknown>[];
  adminUrl?: string;
}

/** All of the above; returns the violations (empty when the run is clean). */
export async function checkInvariants(t: InvariantTargets): Promise<Violations> {
  const out: Violations = [];
  out.push(...(await checkStore(t.stateDir)));
  for (const s of t.registryStorage ?? []) out.push(...(await checkRegistryStorage(s)));
  for (const c of t.cacheDirs ?? []) out.push(...(await checkCacheDir(c, t.stateDir)));
  if (t.temp) out.push(...(await checkNoTempFiles([t.stateDir, ...(t.cacheDirs ?? [])])));
  if (t.logs) out.push(...checkErrorLogs(t.logs));
  if (t.adminUrl) out.push(...(await checkHealthz(t.adminUrl)));
  return out;
}

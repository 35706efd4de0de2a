// Test helpers: tar.gz layers built with tar-stream + zlib (benign and hostile), OCI layouts written
// with OciLayout, and small utilities (temp dirs, waiting).
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Annotation, MediaType, OciLayout } from '@trivy-mirror/oci';
import tar from 'tar-stream';

export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'fifo';
  data?: Buffer | string;
  linkname?: string;
}

export async function tarBytes(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const data = e.data === undefined ? undefined : Buffer.from(e.data);
    const header = {
      name: e.name,
      type: e.type ?? 'file',
      linkname: e.linkname,
      mode: e.type === 'directory' ? 0o755 : 0o644,
      devmajor: 1,
      devminor: 3,
    } as const;
    if (data === undefined) pack.entry(header);
    else pack.entry(header, data);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function tarGz(entries: TarEntry[]): Promise<Buffer> {
  return gzipSync(await tarBytes(entries), { level: 1 });
}

/** A trivy.db whose first line names its version, so readers can match it with metadata.json. */
export function dbContent(marker: string, bytes = 64 * 1024): Buffer {
  const head = Buffer.from(`MARKER ${marker}\n`);
  const body = Buffer.alloc(Math.max(0, bytes - head.length), 0x61);
  return Buffer.concat([head, body]);
}

export function markerOf(db: Buffer): string {
  const nl = db.indexOf(10);
  return db.subarray(7, nl).toString();
}

export interface DbLayerOptions {
  marker: string;
  version?: number;
  updatedAt?: Date;
  nextUpdate?: Date;
  dbBytes?: number;
  java?: boolean;
  extra?: TarEntry[];
}

/** metadata.json as the upstream tarball has it (zero DownloadedAt), with UpdatedAt carrying the marker. */
export function upstreamMetadata(o: DbLayerOptions): string {
  const updatedAt = o.updatedAt ?? new Date();
  const nextUpdate = o.nextUpdate ?? new Date(updatedAt.getTime() + 6 * 3600_000);
  return JSON.stringify({
    Version: o.version ?? (o.java ? 1 : 2),
    NextUpdate: nextUpdate.toISOString(),
    UpdatedAt: updatedAt.toISOString(),
    DownloadedAt: '0001-01-01T00:00:00Z',
    Marker: o.marker,
  });
}

export async function dbLayer(o: DbLayerOptions): Promise<Buffer> {
  return tarGz([
    { name: o.java ? 'trivy-java.db' : 'trivy.db', data: dbContent(o.marker, o.dbBytes) },
    { name: 'metadata.json', data: upstreamMetadata(o) },
    ...(o.extra ?? []),
  ]);
}

export async function checksLayer(marker: string): Promise<Buffer> {
  return tarGz([
    { name: '.manifest', data: JSON.stringify({ revision: marker, roots: [''] }) },
    { name: 'policies', type: 'directory' },
    { name: 'policies/kubernetes', type: 'directory' },
    { name: 'policies/kubernetes/policy.rego', data: `package builtin.kubernetes # ${marker}\n` },
    { name: 'commands/kubernetes/command.yaml', data: 'id: x\n' },
    { name: 'specs/compliance/k8s-cis.yaml', data: 'spec: {}\n' },
  ]);
}

export const LAYER_TYPES = {
  'trivy-db': { mediaType: MediaType.TrivyDbLayer, title: 'db.tar.gz' },
  'trivy-java-db': { mediaType: MediaType.TrivyJavaDbLayer, title: 'javadb.tar.gz' },
  'trivy-checks': { mediaType: MediaType.OpaLayer, title: 'bundle.tar.gz' },
} as const;

export function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** Stores a single-layer artifact of the real (OCI 1.1) shape under `root/<repository>:<tag>`. */
export async function storeArtifact(
  root: string,
  repository: keyof typeof LAYER_TYPES,
  tag: string,
  layer: Buffer,
  options: { version?: string; layers?: number; mediaType?: string } = {},
): Promise<{ manifestDigest: string; layerDigest: string }> {
  const layout = await OciLayout.open(path.join(root, repository), { create: true });
  const layerDigest = await layout.blobWriteBytes(layer);
  const config = Buffer.from('{}');
  const configDigest = await layout.blobWriteBytes(config);
  const t = LAYER_TYPES[repository];
  const layerDesc = {
    mediaType: options.mediaType ?? t.mediaType,
    digest: layerDigest,
    size: layer.length,
    annotations: { [Annotation.Title]: t.title },
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType:
      repository === 'trivy-checks'
        ? 'application/vnd.cncf.openpolicyagent.bundle'
        : `application/vnd.aquasec.trivy.${repository}`,
    config: { mediaType: MediaType.OciEmpty, digest: configDigest, size: config.length },
    layers: Array.from({ length: options.layers ?? 1 }, () => layerDesc),
    annotations: {
      [Annotation.Created]: new Date().toISOString(),
      ...(options.version ? { [Annotation.Version]: options.version } : {}),
    },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const desc = await layout.manifestPut(bytes, MediaType.OciManifest, { tag });
  return { manifestDigest: desc.digest, layerDigest };
}

/**
 * A valid tar.gz whose `trivy.db` holds `zeroBytes` zeros, built from concatenated gzip members so that
 * even gigabytes cost a few MB and milliseconds. metadata.json comes first.
 */
export async function zerosDbLayer(zeroBytes: number, marker = 'big', java = false): Promise<Buffer> {
  const chunk = 16 * 1024 * 1024;
  if (zeroBytes % chunk !== 0) throw new Error('zeroBytes must be a multiple of 16 MiB');
  const meta = Buffer.from(upstreamMetadata({ marker, java }));
  const full = await tarBytes([{ name: 'metadata.json', data: meta }]);
  const metaPart = full.subarray(0, full.length - 1024); // without the end-of-archive blocks
  const dbHeader = encodeHeader(java ? 'trivy-java.db' : 'trivy.db', zeroBytes);
  const members = [gzipSync(Buffer.concat([metaPart, dbHeader]))];
  const zeros = gzipSync(Buffer.alloc(chunk), { level: 9 });
  for (let i = 0; i < zeroBytes / chunk; i++) members.push(zeros);
  members.push(gzipSync(Buffer.alloc(1024)));
  return Buffer.concat(members);
}

/** A plain ustar header for a regular file. */
export function encodeHeader(name: string, size: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'utf8');
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  b.write(
    `${Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, '0')}\0`,
    136,
  );
  b.write('        ', 148);
  b.write('0', 156);
  b.write('ustar\0', 257);
  b.write('00', 263);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `cache-populator-${prefix}-`));
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Every file under dir (relative paths), for "nothing written" checks. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory()) await walk(path.join(d, e.name), r);
    }
  };
  await walk(dir, '');
  return out.sort();
}

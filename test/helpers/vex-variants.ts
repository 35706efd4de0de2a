// Variants of the real VEX Hub snapshot for e2e tests: a changed archive (one more document), hostile
// archives (corrupt, zip-slip, no index.json, index pointing outside), and a small spec repository
// server whose manifest and archive a test can swap (ETag-conditional like a real host), counting requests.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import JSZip from 'jszip';
import { vexhubDir } from './vex-server.js';

export const TOP = 'vexhub-main';

export function snapshotZipBytes(): Buffer {
  return readFileSync(`${vexhubDir}/vexhub-main.zip`);
}

export function upstreamManifest(): {
  name: string;
  versions: { spec_version: string; locations: { url: string }[]; update_interval?: string }[];
  [k: string]: unknown;
} {
  return JSON.parse(readFileSync(`${vexhubDir}/vex-repository.json`, 'utf8'));
}

async function load(): Promise<JSZip> {
  return JSZip.loadAsync(snapshotZipBytes());
}

function bytes(zip: JSZip): Promise<Buffer> {
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
}

interface VexIndex {
  updated_at: string;
  packages: { id: string; location: string; format?: string }[];
}

export async function snapshotIndex(): Promise<VexIndex> {
  const zip = await load();
  return JSON.parse(await zip.file(`${TOP}/index.json`)!.async('string'));
}

/** The snapshot re-packed with one extra OpenVEX document listed in index.json. */
export async function zipWithExtraDocument(): Promise<{ archive: Buffer; location: string; id: string }> {
  const zip = await load();
  const index = JSON.parse(await zip.file(`${TOP}/index.json`)!.async('string')) as VexIndex;
  const id = 'pkg:npm/trivy-mirror-e2e-extra';
  const location = 'pkg/npm/trivy-mirror-e2e-extra/openvex.json';
  const doc = {
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': 'https://example.invalid/vex/trivy-mirror-e2e-extra',
    author: 'trivy-mirror e2e',
    timestamp: '2026-01-01T00:00:00Z',
    version: 1,
    statements: [
      {
        vulnerability: { name: 'CVE-2026-0001' },
        products: [{ '@id': id }],
        status: 'not_affected',
        justification: 'vulnerable_code_not_present',
      },
    ],
  };
  zip.file(`${TOP}/${location}`, JSON.stringify(doc, null, 2));
  index.packages.push({ id, location });
  index.updated_at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  zip.file(`${TOP}/index.json`, JSON.stringify(index, null, 2));
  return { archive: await bytes(zip), location, id };
}

export async function zipWithIndex(edit: (index: VexIndex) => void): Promise<Buffer> {
  const zip = await load();
  const index = JSON.parse(await zip.file(`${TOP}/index.json`)!.async('string')) as VexIndex;
  edit(index);
  zip.file(`${TOP}/index.json`, JSON.stringify(index));
  return bytes(zip);
}

export async function zipWithout(name: string): Promise<Buffer> {
  const zip = await load();
  zip.remove(`${TOP}/${name}`);
  return bytes(zip);
}

/** An entry whose name climbs out of the extraction dir. */
export async function zipSlip(): Promise<Buffer> {
  const zip = await load();
  zip.file(`${TOP}/../../evil.json`, '{"pwned":true}');
  return bytes(zip);
}

/** The real zip with garbage over part of its compressed data (its central directory intact). */
export function corruptZip(): Buffer {
  const buf = Buffer.from(snapshotZipBytes());
  const from = Math.floor(buf.length / 3);
  for (let i = from; i < from + 4096; i++) buf[i] = (buf[i]! * 31 + 7) & 0xff;
  return buf;
}

export interface VariantServer {
  url: string;
  /** Repository URL clients of this server use: `${url}/repo`. */
  repoUrl: string;
  requests: { method: string; path: string; status: number }[];
  setManifest(manifest: unknown): void;
  setArchive(bytes: Buffer): void;
  /** The manifest pointing at this server's archive with //vexhub-main, spec 0.1. */
  goodManifest(): unknown;
  close(): Promise<void>;
}

/** A spec repository at `/repo` (manifest) and `/files/main.zip` (archive), both swappable. */
export async function startVariantServer(): Promise<VariantServer> {
  let base = '';
  let manifestBytes = Buffer.alloc(0);
  let archive = snapshotZipBytes();
  const requests: VariantServer['requests'] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (status: number, body: Buffer, headers: Record<string, string> = {}) => {
      requests.push({ method: req.method ?? 'GET', path: p, status });
      res.writeHead(status, { 'content-length': String(body.length), ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const conditional = (body: Buffer, type: string) => {
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
      if (req.headers['if-none-match'] === etag) return send(304, Buffer.alloc(0), { etag });
      return send(200, body, { etag, 'content-type': type });
    };
    if (p === '/repo/.well-known/vex-repository.json') return conditional(manifestBytes, 'application/json');
    if (p === '/files/main.zip') return conditional(archive, 'application/zip');
    return send(404, Buffer.from('not found'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const goodManifest = () => {
    const m = upstreamManifest();
    m.versions[0]!.locations = [{ url: `${base}/files/main.zip//${TOP}` }];
    return m;
  };
  manifestBytes = Buffer.from(JSON.stringify(goodManifest(), null, 2));
  return {
    url: base,
    repoUrl: `${base}/repo`,
    requests,
    setManifest(m) {
      manifestBytes = Buffer.from(JSON.stringify(m, null, 2));
    },
    setArchive(b) {
      archive = b;
    },
    goodManifest,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

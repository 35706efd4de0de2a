// What Trivy does with a VEX repository URL (pkg/vex/repo + go-getter), step by step, written from the
// spec and Trivy's behaviour, not from the plugin: manifest under /.well-known, spec_version "0.1",
// first location, archive type from the suffix (or ?archive=), `//SUBDIR`, HEAD then GET, extract
// with the system's unzip/tar, read SUBDIR/index.json and every listed document.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TrivyVexResult {
  manifestBytes: Buffer;
  manifest: { name?: string; versions: { spec_version: string; locations: { url: string }[] }[] };
  /** The location URL as written in the manifest (Trivy's ETag key). */
  location: string;
  archiveUrl: string;
  subdir: string;
  type: 'zip' | 'tar.gz';
  archive: Buffer;
  index: { updated_at: string; packages: { id: string; location: string; format?: string }[] };
  /** Parsed documents by location. */
  documents: Map<string, unknown>;
}

/** go-getter's SourceDirSubdir: `//` after the scheme's `://` starts the subdir. */
export function splitSubdir(location: string): { url: string; subdir: string } {
  const schemeEnd = location.indexOf('://');
  const from = schemeEnd >= 0 ? schemeEnd + 3 : 0;
  const at = location.indexOf('//', from);
  if (at < 0) return { url: location, subdir: '' };
  let url = location.slice(0, at);
  let subdir = location.slice(at + 2);
  // A query after the subdir belongs to the URL.
  const q = subdir.indexOf('?');
  if (q >= 0) {
    url += subdir.slice(q);
    subdir = subdir.slice(0, q);
  }
  return { url, subdir };
}

export async function trivyVexFetch(repositoryUrl: string, workDir: string): Promise<TrivyVexResult> {
  // 1. Manifest: <url>/.well-known/vex-repository.json (any host but github.com).
  const manifestUrl = `${repositoryUrl.replace(/\/+$/, '')}/.well-known/vex-repository.json`;
  const mres = await fetch(manifestUrl);
  assert.equal(mres.status, 200, `GET ${manifestUrl}`);
  const manifestBytes = Buffer.from(await mres.arrayBuffer());
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as TrivyVexResult['manifest'];

  // 2. The version with spec_version exactly "0.1"; its first location.
  const version = manifest.versions.find((v) => v.spec_version === '0.1');
  assert.ok(version, 'a version with spec_version "0.1"');
  const location = version.locations[0]?.url;
  assert.ok(location, 'a first location');
  assert.ok(/^https?:\/\//.test(location), `absolute location URL: ${location}`);

  // 3. Archive type: ?archive= wins, else the path suffix; then strip //SUBDIR.
  const { url: rawUrl, subdir } = splitSubdir(location);
  const u = new URL(rawUrl);
  let type: 'zip' | 'tar.gz';
  const forced = u.searchParams.get('archive');
  if (forced) {
    assert.ok(forced === 'zip' || forced === 'tar.gz', `archive=${forced}`);
    type = forced;
    u.searchParams.delete('archive');
  } else if (u.pathname.endsWith('.zip')) type = 'zip';
  else if (u.pathname.endsWith('.tar.gz') || u.pathname.endsWith('.tgz')) type = 'tar.gz';
  else throw new Error(`no archive type in ${location}`);

  // 4. HEAD first (go-getter reads Content-Length), then GET; 200 or 206 only, no Content-Encoding.
  const head = await fetch(u, { method: 'HEAD', redirect: 'manual' });
  assert.equal(head.status, 200, `HEAD ${u}`);
  const length = Number(head.headers.get('content-length'));
  assert.ok(length > 0, 'HEAD has a Content-Length');
  assert.equal(head.headers.get('content-encoding'), null, 'HEAD: no Content-Encoding');
  const range: Record<string, string> =
    head.headers.get('accept-ranges') === 'bytes' ? { Range: 'bytes=0-' } : {};
  const res = await fetch(u, { headers: { 'Accept-Encoding': 'gzip', ...range }, redirect: 'manual' });
  assert.ok(res.status === 200 || res.status === 206, `GET ${u}: ${res.status}`);
  assert.equal(res.headers.get('content-encoding'), null, 'GET: no Content-Encoding');
  assert.equal(Number(res.headers.get('content-length')), length, 'same Content-Length on HEAD and GET');
  const archive = Buffer.from(await res.arrayBuffer());
  assert.equal(archive.length, length);

  // 5. Extract, then SUBDIR/index.json and every listed document.
  await fs.mkdir(workDir, { recursive: true });
  const file = path.join(workDir, type === 'zip' ? 'archive.zip' : 'archive.tar.gz');
  await fs.writeFile(file, archive);
  const out = path.join(workDir, 'extracted');
  await fs.mkdir(out);
  if (type === 'zip') await run('unzip', ['-q', file, '-d', out]);
  else await run('tar', ['-xzf', file, '-C', out]);
  const root = path.join(out, subdir);
  const index = JSON.parse(
    await fs.readFile(path.join(root, 'index.json'), 'utf8'),
  ) as TrivyVexResult['index'];
  assert.ok(!Number.isNaN(Date.parse(index.updated_at)), 'index.json updated_at');
  assert.ok(Array.isArray(index.packages) && index.packages.length > 0, 'index.json lists packages');
  const documents = new Map<string, unknown>();
  for (const p of index.packages) {
    const doc = JSON.parse(await fs.readFile(path.join(root, p.location), 'utf8')) as unknown;
    assert.equal(typeof doc, 'object', `${p.location} is a JSON document`);
    documents.set(p.location, doc);
  }
  return {
    manifestBytes,
    manifest,
    location,
    archiveUrl: u.toString(),
    subdir,
    type,
    archive,
    index,
    documents,
  };
}

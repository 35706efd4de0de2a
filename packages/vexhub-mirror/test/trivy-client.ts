// What Trivy (pkg/vex/repo + go-getter) does with a VEX repository URL, step by step, independent of the plugin's
// code: manifest URL, spec 0.1 version, first location, archive type, //SUBDIR, HEAD then GET, extract, read index.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TrivyFetchResult {
  manifest: Record<string, unknown> & { versions: { spec_version: string; locations: { url: string }[] }[] };
  location: string;
  archiveUrl: string;
  subdir: string;
  type: 'zip' | 'tar.gz';
  archive: Buffer;
  packages: number;
  updatedAt: string;
}

export async function trivyFetch(repoUrl: string, workDir: string): Promise<TrivyFetchResult> {
  // repo.go downloadManifest: any host but github.com → <url>/.well-known/vex-repository.json
  const u = new URL(repoUrl);
  assert.notEqual(u.host, 'github.com');
  u.pathname = path.posix.join(u.pathname, '.well-known', 'vex-repository.json');
  const mres = await fetch(u);
  assert.equal(mres.status, 200, `manifest ${u} answers 200`);
  const manifest = (await mres.json()) as TrivyFetchResult['manifest'];

  // selectSupportedVersion: spec_version must equal "0.1"; the locations are tried in order.
  const version = manifest.versions.find((v) => v.spec_version === '0.1');
  assert.ok(version, 'a version with spec_version 0.1');
  const location = version.locations[0].url;

  // go-getter: `//SUBDIR` after the scheme, `?archive=` or the path suffix picks the decompressor.
  const schemeEnd = location.indexOf('://') + 3;
  const sep = location.indexOf('//', schemeEnd);
  const archiveUrlRaw = sep > -1 ? location.slice(0, sep) : location;
  const subdir = sep > -1 ? location.slice(sep + 2) : '';
  const au = new URL(archiveUrlRaw);
  let type: 'zip' | 'tar.gz';
  const archiveParam = au.searchParams.get('archive');
  if (archiveParam) {
    assert.ok(archiveParam === 'zip' || archiveParam === 'tar.gz');
    type = archiveParam;
    au.searchParams.delete('archive');
  } else if (au.pathname.endsWith('.zip')) type = 'zip';
  else if (au.pathname.endsWith('.tar.gz')) type = 'tar.gz';
  else throw new Error(`no archive suffix in ${location}`);

  // HttpGetter.GetFile: HEAD first (Content-Length decides whether anything is fetched), then GET.
  const head = await fetch(au, { method: 'HEAD' });
  assert.equal(head.status, 200, 'HEAD archive answers 200');
  const headLength = Number(head.headers.get('content-length'));
  assert.ok(headLength > 0, 'HEAD carries a Content-Length');
  assert.equal(head.headers.get('content-encoding'), null, 'no Content-Encoding on HEAD');
  // With Accept-Ranges: bytes it resumes into its (empty) temp file: `Range: bytes=0-`.
  const resume: Record<string, string> =
    head.headers.get('accept-ranges') === 'bytes' ? { Range: 'bytes=0-' } : {};
  const res = await fetch(au, { headers: { 'Accept-Encoding': 'gzip', ...resume } });
  assert.ok(res.status === 200 || res.status === 206, `GET archive answers 200 or 206, not ${res.status}`);
  assert.equal(res.headers.get('content-encoding'), null, 'no Content-Encoding on GET');
  assert.equal(Number(res.headers.get('content-length')), headLength, 'same Content-Length on HEAD and GET');
  const archive = Buffer.from(await res.arrayBuffer());
  assert.equal(archive.length, headLength);

  // Decompress with the system tools, then read SUBDIR/index.json like Trivy's Index().
  await mkdir(workDir, { recursive: true });
  const file = path.join(workDir, type === 'zip' ? 'a.zip' : 'a.tar.gz');
  await writeFile(file, archive);
  const out = path.join(workDir, 'x');
  await mkdir(out);
  if (type === 'zip') await run('unzip', ['-q', file, '-d', out]);
  else await run('tar', ['-xzf', file, '-C', out]);
  const root = path.join(out, subdir);
  const index = JSON.parse(await readFile(path.join(root, 'index.json'), 'utf8')) as {
    updated_at: string;
    packages: { id: string; location: string; format?: string }[];
  };
  assert.ok(!Number.isNaN(Date.parse(index.updated_at)));
  for (const p of index.packages) {
    const doc = JSON.parse(await readFile(path.join(root, p.location), 'utf8'));
    assert.equal(typeof doc, 'object');
  }
  return {
    manifest,
    location,
    archiveUrl: au.toString(),
    subdir,
    type,
    archive,
    packages: index.packages.length,
    updatedAt: index.updated_at,
  };
}

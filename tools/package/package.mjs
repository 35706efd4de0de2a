#!/usr/bin/env node
// `npm run package` (after `npm run build`): the single executables dist/trivy-mirror-linux-x64 and
// dist/trivy-mirror-linux-arm64 (node of the npm registry, cross-built without code cache) and the
// Debian packages dist/trivy-mirror_VERSION_{amd64,arm64}.deb. Options: --no-arm64.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { bundle, bundleWorker } from './bundle.mjs';
import { copyrightFile } from './copyright.mjs';
import { buildDeb } from './deb.mjs';
import { manPage } from './man-page.mjs';
import { nodeBinary } from './node-binary.mjs';
import { packageMetadata } from './package-metadata.mjs';
import { makeExecutable } from './sea.mjs';
import { stripTool } from './strip-tool.mjs';
import { packagedUnit } from './systemd-unit.mjs';
import { walkFiles } from './walk-files.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = join(root, 'dist');
const work = join(dist, '.build');
const arches = process.argv.includes('--no-arm64') ? ['x64'] : ['x64', 'arm64'];
const log = (s) => process.stdout.write(`package: ${s}\n`);

/** The last commit's time (or SOURCE_DATE_EPOCH): dates in the changelog and man page stay reproducible. */
function buildDate() {
  const epoch = Number(
    process.env.SOURCE_DATE_EPOCH ||
      execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: root, encoding: 'utf8' }).trim(),
  );
  const d = new Date(epoch * 1000);
  const rfc2822 = d.toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1, $2 $3 $4 $5 +0000');
  return { epoch, rfc2822, day: d.toISOString().slice(0, 10) };
}

if (!existsSync(join(root, 'apps/daemon/dist/sea/sea-main.js')))
  throw new Error('apps/daemon/dist is missing: run `npm run build` first');
mkdirSync(work, { recursive: true });
const version = JSON.parse(readFileSync(join(root, 'apps/daemon/package.json'), 'utf8')).version;
const debVersion = `${version}-1`;
const date = buildDate();

const bundled = join(work, 'trivy-mirror.cjs');
const metafile = await bundle({ root, outfile: bundled, version });
log(`bundle ${bundled}`);

// The demo's real-format data and the VEX Hub snapshot travel inside the executable (~0.7 MB): the
// demo writes them out at start (apps/daemon/src/demo/fixture-data.ts), so it serves what a Trivy can scan.
const assets = {};
for (const folder of ['trivy-data', 'vexhub']) {
  const base = join(root, 'tools/fixtures', folder);
  for (const file of walkFiles(base)) assets[`fixtures/${folder}/${file.slice(base.length + 1)}`] = file;
}
// bcrypt off the main thread: the worker's source (packages/auth-providers/src/serve/bcrypt-pool.ts).
assets['bcrypt-worker.cjs'] = await bundleWorker({ root, outfile: join(work, 'bcrypt-worker.cjs') });

const exes = {};
for (const arch of arches) {
  let nodeBin;
  try {
    nodeBin = nodeBinary(arch, join(dist, '.node'));
  } catch (err) {
    log(`no ${arch} executable: ${err.message}`);
    continue;
  }
  const output = join(dist, `trivy-mirror-linux-${arch}`);
  const strip = stripTool(arch);
  makeExecutable({
    bundle: bundled,
    nodeBin,
    output,
    workDir: work,
    codeCache: arch === process.arch,
    strip,
    assets,
  });
  exes[arch] = { output, nodeBin, stripped: strip !== undefined };
  log(`${output}: ${execFileSync('file', ['-b', output], { encoding: 'utf8' }).trim().slice(0, 60)}`);
}

const host = exes[process.arch];
if (!host)
  throw new Error(
    `no executable for this machine's arch (${process.arch}): cannot print the packaged config`,
  );
const config = execFileSync(host.output, ['config', 'example'], { encoding: 'utf8' });
const man = await manPage({ root, version, date: date.day });
const metadata = packageMetadata(root);
// The cache dirs the shipped config fills: the package makes them, for the service user to write.
const cacheDirs = (parseYaml(config).plugins?.['cache-populator']?.targets ?? []).map((t) => ({
  dir: t.dir,
  mode: t.dirMode ?? '0755',
}));
for (const [arch, exe] of Object.entries(exes)) {
  const deb = buildDeb({
    outDir: dist,
    workDir: work,
    exe: exe.output,
    nodeArch: arch,
    stripped: exe.stripped,
    version: debVersion,
    date,
    unit: packagedUnit(root),
    config,
    cacheDirs,
    man,
    maintainer: metadata.maintainer,
    homepage: metadata.homepage,
    copyright: copyrightFile({
      root,
      metafile,
      nodeLicense: join(dirname(exe.nodeBin), '../LICENSE'),
      ...metadata,
    }),
  });
  log(deb);
}

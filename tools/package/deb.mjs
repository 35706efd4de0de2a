// dist/trivy-mirror_VERSION_ARCH.deb: the executable, the hardened unit, the annotated config (a
// conffile), man page, copyright and changelog, with maintainer scripts for the system user.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { walkFiles } from './walk-files.mjs';

const HERE = dirname(new URL(import.meta.url).pathname);
const DEB_ARCH = { x64: 'amd64', arm64: 'arm64' };
// NEEDED of node's official linux binaries: glibc 2.28 symbols, libstdc++ of GCC 5 (GLIBCXX_3.4.21)
const DEPENDS = 'adduser, libc6 (>= 2.28), libgcc-s1 (>= 3.0), libstdc++6 (>= 5.2)';

function put(path, content, mode = 0o644) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode);
}

function control({ version, arch, installedKb, maintainer, homepage }) {
  return `Package: trivy-mirror
Version: ${version}
Architecture: ${arch}
Maintainer: ${maintainer}
Installed-Size: ${installedKb}
Depends: ${DEPENDS}
Section: net
Priority: optional
${homepage ? `Homepage: ${homepage}\n` : ''}Description: mirror of Trivy's vulnerability databases for private networks
 trivy-mirror runs on a bastion host and keeps trivy-db, trivy-java-db,
 trivy-checks and VEX Hub inside a private network: it syncs them into a
 local content-addressed store and on into private registries, fills Trivy
 cache directories for hosts with no network, and serves everything as a
 read-only OCI registry with health, status and Prometheus metrics.
 .
 The executable holds the Node.js runtime and the bundled daemon; external
 plugins load from npm packages or files named in the config.
`;
}

/** changelog.Debian in dpkg's format; `date` is an RFC 2822 date. */
function changelog({ version, date, maintainer }) {
  return `trivy-mirror (${version}) unstable; urgency=medium

  * Packaged as a single executable (Node.js runtime and bundled daemon).

 -- ${maintainer}  ${date}
`;
}

/** A maintainer script with the cache dirs of the shipped config (and their mode) filled in. */
function maintainerScript(name, cacheDirs) {
  const modes = [...new Set(cacheDirs.map((d) => d.mode))];
  if (modes.length > 1) throw new Error(`cache dirs with different modes: ${JSON.stringify(cacheDirs)}`);
  const script = readFileSync(join(HERE, 'debian', name), 'utf8')
    .replaceAll('@CACHE_DIRS@', cacheDirs.map((d) => d.dir).join(' '))
    .replaceAll('@CACHE_DIR_MODE@', modes[0] ?? '0755');
  if (/@[A-Z_]+@/.test(script)) throw new Error(`debian/${name}: a placeholder is left`);
  return script;
}

/**
 * Stages and builds the .deb; resolves with its path. `cacheDirs` ({ dir, mode }) are those the shipped
 * config fills: postinst makes them, owned by the service user. `maintainer` ("Name <email>") and
 * `homepage` (may be empty) are the package's metadata.
 */
export function buildDeb({
  outDir,
  workDir,
  exe,
  nodeArch,
  stripped,
  version,
  date,
  unit,
  config,
  cacheDirs,
  man,
  copyright,
  maintainer,
  homepage,
}) {
  const arch = DEB_ARCH[nodeArch];
  const stage = join(workDir, `deb-${arch}`);
  rmSync(stage, { recursive: true, force: true });
  const doc = join(stage, 'usr/share/doc/trivy-mirror');
  mkdirSync(join(stage, 'usr/bin'), { recursive: true });
  copyFileSync(exe, join(stage, 'usr/bin/trivy-mirror'));
  chmodSync(join(stage, 'usr/bin/trivy-mirror'), 0o755);
  put(join(stage, 'lib/systemd/system/trivy-mirror.service'), unit);
  put(join(stage, 'etc/trivy-mirror/config.yaml'), config);
  mkdirSync(join(stage, 'var/lib/trivy-mirror'), { recursive: true });
  put(join(stage, 'usr/share/man/man1/trivy-mirror.1.gz'), gzipSync(man, { level: 9 }));
  put(join(doc, 'copyright'), copyright);
  put(
    join(doc, 'changelog.Debian.gz'),
    gzipSync(changelog({ version, date: date.rfc2822, maintainer }), { level: 9 }),
  );
  const overrides = [readFileSync(join(HERE, 'debian/lintian-overrides'), 'utf8')];
  if (!stripped)
    overrides.push(
      '# No strip(1) for this arch on the build host (binutils-aarch64-linux-gnu): node ships with debug info.',
      'trivy-mirror: unstripped-binary-or-object [usr/bin/trivy-mirror]\n',
    );
  put(join(stage, 'usr/share/lintian/overrides/trivy-mirror'), overrides.join('\n'));
  const payload = walkFiles(stage);
  const installedKb = payload.reduce((kb, f) => kb + Math.ceil(statSync(f).size / 1024), 0);
  const md5sums = payload
    .map((f) => `${createHash('md5').update(readFileSync(f)).digest('hex')}  ${relative(stage, f)}`)
    .join('\n');
  const meta = join(stage, 'DEBIAN');
  put(join(meta, 'control'), control({ version, arch, installedKb, maintainer, homepage }));
  put(join(meta, 'conffiles'), '/etc/trivy-mirror/config.yaml\n');
  put(join(meta, 'md5sums'), `${md5sums}\n`);
  for (const script of ['postinst', 'prerm', 'postrm'])
    put(join(meta, script), maintainerScript(script, cacheDirs), 0o755);
  for (const dir of walkFiles(stage, { dirs: true })) chmodSync(dir, 0o755);
  const out = join(outDir, `trivy-mirror_${version}_${arch}.deb`);
  // xz at level 1: the payload is one 120 MB binary, and -6 costs a minute for a few MB
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '-z1', '--build', stage, out], {
    stdio: 'pipe',
    env: { ...process.env, SOURCE_DATE_EPOCH: String(date.epoch) },
  });
  return out;
}

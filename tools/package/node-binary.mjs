// The node binaries the executables are made of: the running node for its own arch (the SEA blob's
// code cache must come from the very binary that runs it), else the npm registry's node-linux-ARCH
// package of the same version (npm pack, cached under dist/.node).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const NPM_ARCH = { x64: 'x64', arm64: 'arm64' };

/** Path of a node binary for `arch`, the same version as the running node. */
export function nodeBinary(arch, cacheDir) {
  if (!NPM_ARCH[arch]) throw new Error(`no node package for arch ${arch}`);
  if (arch === process.arch && process.platform === 'linux') return process.execPath;
  const version = process.version.slice(1);
  const dir = join(cacheDir, `node-linux-${arch}-${version}`);
  const bin = join(dir, 'package/bin/node');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tgz = execFileSync('npm', ['pack', `node-linux-${arch}@${version}`, '--silent'], {
    cwd: dir,
    encoding: 'utf8',
  }).trim();
  execFileSync('tar', ['-xzf', tgz], { cwd: dir });
  if (!existsSync(bin)) throw new Error(`node-linux-${arch}@${version} has no bin/node`);
  return bin;
}

// Makes a single executable: node's SEA blob of the bundle injected into a copy of a node binary.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * Writes `output` from node binary `nodeBin` and the CommonJS `bundle`. The code cache is only valid
 * for the arch (and version) of the node that makes the blob: cross-built executables go without.
 * `strip` names a strip(1) that reads the binary's arch, or is undefined to keep it unstripped.
 */
export function makeExecutable({ bundle, nodeBin, output, workDir, codeCache, strip, assets = {} }) {
  const blob = join(workDir, `${codeCache ? 'cached' : 'plain'}.blob`);
  const config = join(workDir, `${codeCache ? 'cached' : 'plain'}-sea-config.json`);
  writeFileSync(
    config,
    JSON.stringify({
      // relative: the name stack traces show, instead of the build machine's path
      main: basename(bundle),
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: codeCache,
      useSnapshot: false,
      // files the executable carries (node:sea getAsset), e.g. the demo's fixture data
      assets,
    }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', config], {
    stdio: 'pipe',
    cwd: dirname(bundle),
  });
  // made beside the output and renamed over it: a running copy (a daemon, a bench) keeps its file,
  // where writing into it fails with ETXTBSY, and a failed build leaves no half-made executable
  const made = `${output}.tmp-${process.pid}`;
  try {
    copyFileSync(nodeBin, made);
    chmodSync(made, 0o755);
    // node's binaries come with debug info (~18 MB); the blob goes in after, so stripping is safe
    if (strip) execFileSync(strip, ['--strip-all', made], { stdio: 'pipe' });
    const postject = join(require.resolve('postject/package.json'), '../dist/cli.js');
    // postject's LIEF warns about note sections on every ELF it rewrites: noise, kept out of the log
    execFileSync(
      process.execPath,
      [postject, made, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SENTINEL_FUSE],
      {
        stdio: 'pipe',
      },
    );
    renameSync(made, output);
  } catch (err) {
    rmSync(made, { force: true });
    throw err;
  }
}

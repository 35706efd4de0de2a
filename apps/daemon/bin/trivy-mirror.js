#!/usr/bin/env node
// trivy-mirror CLI entry: runs the built app (npm run build first). See dist/cli-entry.js for what
// happens before the app's modules load (the stand-in /healthz of `run`).
import { enableCompileCache } from 'node:module';

// V8's code for the app's modules, kept across runs (in $NODE_COMPILE_CACHE, else the temp dir):
// start-up compiles less. It fails quietly where it cannot write.
enableCompileCache?.();
const { startCli } = await import('../dist/cli-entry.js');
await startCli(process.argv, () => import('../dist/main.js'));

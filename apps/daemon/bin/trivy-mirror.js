#!/usr/bin/env node
// trivy-mirror CLI entry: runs the built app (npm run build first). See dist/cli-entry.js for what
// happens before the app's modules load (the stand-in /healthz of `run`).
import { startCli } from '../dist/cli-entry.js';

await startCli(process.argv, () => import('../dist/main.js'));

#!/usr/bin/env node
// trivy-mirror CLI entry: runs the built app (npm run build first).
import { main } from '../dist/main.js';

main(process.argv).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`trivy-mirror: ${err?.message ?? err}\n`);
    process.exitCode = 1;
  },
);

#!/usr/bin/env node
// Module boundaries by Nx tag (what @nx/enforce-module-boundaries would do, without eslint):
// plugins import plugin-api and oci only; nothing imports the app; libraries import no plugin.
// Inside each package: no import cycle between its source files (import-cycles.mjs).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { importCycles, sourceFiles } from './import-cycles.mjs';

// The workspace: this checkout, or the folder given (the script's own tests check a made-up one).
const root = process.argv[2] ? resolve(process.argv[2]) : new URL('../..', import.meta.url).pathname;
const allowed = {
  'type:lib': [],
  'type:contract': ['type:lib'],
  'type:runtime': ['type:contract', 'type:lib'],
  'type:plugin': ['type:contract', 'type:lib'],
  'type:tool': ['type:lib'],
  'type:example': ['type:contract', 'type:lib'],
  'type:app': ['type:contract', 'type:lib', 'type:runtime', 'type:plugin', 'type:tool'],
};
const projects = new Map();
for (const base of ['packages', 'apps', 'tools', 'examples']) {
  const dir = join(root, base);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const pj = join(dir, name, 'package.json');
    if (!existsSync(pj)) continue;
    const pkg = JSON.parse(readFileSync(pj, 'utf8'));
    projects.set(pkg.name, {
      dir: join(dir, name),
      pkg,
      tag: (pkg.nx?.tags ?? []).find((t) => t.startsWith('type:')),
    });
  }
}
const problems = [];
for (const [name, { dir, pkg, tag }] of projects) {
  if (!tag || !allowed[tag]) {
    problems.push(`${name}: package.json has no known nx type tag (${Object.keys(allowed).join(', ')})`);
    continue;
  }
  const declared = { ...pkg.dependencies, ...pkg.peerDependencies };
  for (const file of sourceFiles(join(dir, 'src'))) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(
      /(?:from\s+|import\s*\(\s*)['"](@trivy-mirror\/[a-z-]+|trivy-mirror)(?:\/[^'"]*)?['"]/g,
    )) {
      const dep = m[1];
      if (dep === name) continue;
      const target = projects.get(dep);
      const where = relative(root, file);
      if (!target) {
        problems.push(`${where}: imports unknown workspace package ${dep}`);
        continue;
      }
      if (!allowed[tag].includes(target.tag))
        problems.push(`${where}: ${tag} may not import ${dep} (${target.tag})`);
      if (!(dep in (declared ?? {})))
        problems.push(`${where}: imports ${dep} but ${name}'s package.json does not declare it`);
    }
  }
}
for (const [name, { dir }] of projects) {
  const src = join(dir, 'src');
  for (const { cycle, files } of importCycles(src)) {
    const where = relative(root, src);
    const also = files.length > cycle.length - 1 ? ` (the tangle: ${files.join(', ')})` : '';
    problems.push(`${name}: import cycle in ${where}: ${cycle.join(' → ')}${also}`);
  }
}
if (problems.length) {
  console.error(`module boundaries: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`module boundaries: ${projects.size} projects checked, no problems`);

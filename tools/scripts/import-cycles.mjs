// Import cycles between the files of one package's src: a cycle makes the files' order of evaluation
// depend on which one is imported first, and a folder no longer reads from the bottom up. Every import
// counts, `import type` and `import()` too: a type shared by two files belongs in a file of their own.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SOURCE = /\.(ts|mts|js|mjs)$/;
const SPECIFIERS = [
  /\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]/g, // import … from, export … from
  /\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g, // import(), typeof import()
  /\bimport\s+['"](\.{1,2}\/[^'"]+)['"]/g, // import './side-effect.js'
];

/** The source files under `dir` (node_modules and dist left out), tests included. */
export function sourceFiles(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (SOURCE.test(name)) out.push(p);
  }
  return out;
}

/** The file a relative specifier names (`./x.js` is x.ts in the sources), if it is one of `files`. */
function resolveSpecifier(from, spec, files) {
  const p = resolve(dirname(from), spec);
  const candidates = [p, p.replace(/\.js$/, '.ts'), p.replace(/\.mjs$/, '.mts'), join(p, 'index.ts')];
  return candidates.find((c) => files.has(c));
}

/** Each file's imports of other files in the set. */
export function importGraph(files) {
  const set = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const deps = new Set();
    for (const re of SPECIFIERS)
      for (const m of text.matchAll(re)) {
        const target = resolveSpecifier(file, m[1], set);
        if (target) deps.add(target);
      }
    graph.set(file, [...deps].sort());
  }
  return graph;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function tangles(graph) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v).includes(v)) found.push(component);
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** One concrete cycle through a component: start → … → start, by the shortest path back. */
function cycleThrough(graph, component) {
  const members = new Set(component);
  const start = [...component].sort()[0];
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of graph.get(v)) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = previous.get(u)) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/**
 * The import cycles among the source files under `srcDir` (tests excluded): one entry per tangle of
 * files, each a path `[a, b, …, a]` of paths relative to `srcDir`, plus every file of the tangle.
 */
export function importCycles(srcDir) {
  const code = sourceFiles(srcDir).filter((f) => !/\.test\.[mc]?[tj]s$/.test(f) && !f.endsWith('.d.ts'));
  const graph = importGraph(code);
  return tangles(graph).map((component) => ({
    cycle: cycleThrough(graph, component).map((f) => relative(srcDir, f)),
    files: component.map((f) => relative(srcDir, f)).sort(),
  }));
}

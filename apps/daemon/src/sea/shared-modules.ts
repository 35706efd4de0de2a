// In the single executable, an external plugin's imports of the contract and of the libraries it hands
// to the container resolve to the executable's own bundled copies: one set of tokens, one inversify,
// one zod, whatever the plugin's node_modules hold. Only used in the bundle (tools/package), where
// esbuild turns these require() calls into its lazy module getters; node-run plugins share the app's
// node_modules as before.
import { registerHooks } from 'node:module';

const SCHEME = 'trivy-mirror-bundled:';

const bundled: Record<string, () => Record<string, unknown>> = {
  '@trivy-mirror/plugin-api': () => require('@trivy-mirror/plugin-api'),
  inversify: () => require('inversify'),
  zod: () => require('zod'),
  'zod/v4': () => require('zod/v4'),
  'reflect-metadata': () => require('reflect-metadata'),
};

const REGISTRY = Symbol.for('trivy-mirror.bundled-modules');

/** ESM source re-exporting the bundled module `name` (export names may be reserved words: quoted). */
export function reexportSource(name: string, namespace: Record<string, unknown>): string {
  const lines = [
    `const m = globalThis[Symbol.for('trivy-mirror.bundled-modules')](${JSON.stringify(name)});`,
  ];
  Object.keys(namespace)
    .filter((k) => k !== 'default' && k !== '__esModule')
    .forEach((k, i) => {
      lines.push(`const e${i} = m[${JSON.stringify(k)}];`, `export { e${i} as ${JSON.stringify(k)} };`);
    });
  lines.push(`export default ${'default' in namespace ? 'm.default' : 'm'};`);
  return lines.join('\n');
}

/** Installs the resolve/load hooks; the bundled modules load only when a plugin imports them. */
export function shareBundledModules(): void {
  (globalThis as Record<symbol, unknown>)[REGISTRY] = (name: string) => bundled[name]!();
  registerHooks({
    resolve(specifier, context, next) {
      if (Object.hasOwn(bundled, specifier))
        return { url: `${SCHEME}${specifier}`, format: 'module', shortCircuit: true };
      return next(specifier, context);
    },
    load(url, context, next) {
      if (!url.startsWith(SCHEME)) return next(url, context);
      const name = url.slice(SCHEME.length);
      return { format: 'module', source: reexportSource(name, bundled[name]!()), shortCircuit: true };
    },
  });
}

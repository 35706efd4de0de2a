// The ESM stand-ins through which the single executable hands its bundled modules to external plugins.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reexportSource } from '../src/sea/shared-modules.js';

const REGISTRY = Symbol.for('trivy-mirror.bundled-modules');
const importSource = (src: string) => import(`data:text/javascript,${encodeURIComponent(src)}`);

describe('reexportSource', () => {
  test('re-exports every name, reserved words included, and the default export', async () => {
    const ns = { z: 1, enum: 'e', null: 0, default: 'd', __esModule: true };
    (globalThis as Record<symbol, unknown>)[REGISTRY] = () => ns;
    const mod = (await importSource(reexportSource('zod', ns))) as Record<string, unknown>;
    assert.equal(mod.z, 1);
    assert.equal(mod.enum, 'e');
    assert.equal(mod.null, 0);
    assert.equal(mod.default, 'd');
    assert.equal('__esModule' in mod, false);
  });

  test('a module without a default export gets its namespace as default', async () => {
    const ns = { ContainerModule: class {} };
    (globalThis as Record<symbol, unknown>)[REGISTRY] = () => ns;
    const mod = (await importSource(reexportSource('inversify', ns))) as Record<string, unknown>;
    assert.equal(mod.default, ns);
    assert.equal(mod.ContainerModule, ns.ContainerModule);
  });
});

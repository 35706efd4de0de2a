import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildArtifact, writeToLayout } from '../test/test-artifacts.ts';
const dir = await mkdtemp(join(tmpdir(), 'smoke-'));
const a = await buildArtifact({ dir, shape: 'oci-1.1', layerBytes: 3_000_000, seed: 'x' });
console.log('built');
await writeToLayout(join(dir, 'layout'), '2', a);
console.log('written', dir);

// The demo's real-format data in a single executable: tools/package/package.mjs puts tools/fixtures'
// trivy-data/ and vexhub/ in as assets ("fixtures/…"); the demo writes them under its dir at start and
// reads them from there. From a checkout nothing is written: the files are beside the code.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Writes the executable's fixture assets below `dir`; returns that root, or undefined outside one. */
export async function writeEmbeddedFixtureData(dir: string): Promise<string | undefined> {
  const sea = await import('node:sea').catch(() => undefined);
  if (!sea?.isSea()) return undefined;
  const keys = sea.getAssetKeys().filter((k) => k.startsWith('fixtures/'));
  if (keys.length === 0) return undefined;
  const root = join(dir, 'fixture-data');
  for (const key of keys) {
    const rel = key.slice('fixtures/'.length);
    // keys are written by our own build; still, nothing may land outside the root
    if (rel.split('/').some((p) => p === '..' || p === '')) throw new Error(`bad asset name ${key}`);
    const file = join(root, rel);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, new Uint8Array(sea.getAsset(key)));
  }
  return root;
}

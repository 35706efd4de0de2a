// publishDir receives the rewritten manifests and the archive, each replaced atomically (temp file + rename).
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import JSZip from 'jszip';
import { FakeUpstream, fixture, GH, get, type Harness, seedGithub, startHarness } from './helpers.js';

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}

describe('publishDir', () => {
  let up: FakeUpstream;
  let h: Harness;
  let publishDir: string;

  before(async () => {
    up = await new FakeUpstream().start();
    await seedGithub(up);
    publishDir = await mkdtemp(path.join(os.tmpdir(), 'vexhub-publish-'));
    h = await startHarness(
      { publishDir, publishBaseUrl: 'https://static.example/trivy' },
      { githubFrom: up },
    );
  });
  after(async () => {
    await h.stop();
    await up.stop();
    await rm(publishDir, { recursive: true, force: true });
  });

  test('the first run writes manifests and archive, pointing at publishBaseUrl', async () => {
    await h.runJob();
    assert.deepEqual(await allFiles(publishDir), [
      '.well-known/vex-repository.json',
      'vex/vexhub/archive.zip',
      'vexhub/.well-known/vex-repository.json',
    ]);
    assert.ok(
      (await readFile(path.join(publishDir, 'vex/vexhub/archive.zip'))).equals(
        await fixture('vexhub-main.zip'),
      ),
    );
    const manifest = JSON.parse(
      await readFile(path.join(publishDir, '.well-known/vex-repository.json'), 'utf8'),
    );
    assert.equal(
      manifest.versions[0].locations[0].url,
      'https://static.example/trivy/vex/vexhub/archive.zip//vexhub-main',
    );
    assert.equal(manifest.name, 'VEX Hub');
    // The HTTP route keeps the serve listener's own URL.
    const served = JSON.parse((await get(`${h.serveUrl}/.well-known/vex-repository.json`)).body.toString());
    assert.equal(served.versions[0].locations[0].url, `${h.serveUrl}/vex/vexhub/archive.zip//vexhub-main`);
  });

  test('an update replaces files by rename (new inode, no temp files left), an unchanged run writes nothing', async () => {
    const archivePath = path.join(publishDir, 'vex/vexhub/archive.zip');
    const before = await stat(archivePath);
    await h.runJob();
    assert.equal((await stat(archivePath)).ino, before.ino, 'unchanged source: the file is left alone');

    const zip = await JSZip.loadAsync(await fixture('vexhub-main.zip'));
    zip.file('vexhub-main/NEWS.md', 'changed');
    const next = await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
    up.set(GH.zip, next, 'application/zip');
    await h.runJob();
    const after = await stat(archivePath);
    assert.notEqual(after.ino, before.ino, 'replaced by rename, not rewritten in place');
    assert.ok((await readFile(archivePath)).equals(next));
    assert.deepEqual(await allFiles(publishDir), [
      '.well-known/vex-repository.json',
      'vex/vexhub/archive.zip',
      'vexhub/.well-known/vex-repository.json',
    ]);
  });

  test('a removed file is restored at the next run', async () => {
    await rm(path.join(publishDir, 'vexhub/.well-known/vex-repository.json'));
    await h.runJob();
    const manifest = JSON.parse(
      await readFile(path.join(publishDir, 'vexhub/.well-known/vex-repository.json'), 'utf8'),
    );
    assert.equal(
      manifest.versions[0].locations[0].url,
      'https://static.example/trivy/vex/vexhub/archive.zip//vexhub-main',
    );
  });
});

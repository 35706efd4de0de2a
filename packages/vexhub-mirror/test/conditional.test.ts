// Unchanged sources cost one conditional request per URL and republish nothing; changes are served after one run.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import JSZip from 'jszip';
import { FakeUpstream, fixture, GH, get, type Harness, seedGithub, sha256, startHarness } from './helpers.js';

/** The snapshot zip with a new updated_at in index.json (a changed upstream). */
async function changedZip(updatedAt: string): Promise<Buffer> {
  const zip = await JSZip.loadAsync(await fixture('vexhub-main.zip'));
  const index = JSON.parse(await zip.file('vexhub-main/index.json')!.async('string'));
  index.updated_at = updatedAt;
  zip.file('vexhub-main/index.json', JSON.stringify(index, null, 3));
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
}

describe('conditional requests and updates', () => {
  let up: FakeUpstream;
  let h: Harness;
  const versions = () => readdir(path.join(h.pluginDir, 'repositories', 'vexhub', 'versions'));

  before(async () => {
    up = await new FakeUpstream().start();
    await seedGithub(up);
    h = await startHarness({}, { githubFrom: up });
  });
  after(async () => {
    await h.stop();
    await up.stop();
  });

  test('an unchanged source: one conditional request per URL, skipped, nothing republished', async () => {
    assert.equal((await h.runJob()).status, 'success');
    const [first] = await versions();
    const manifestBefore = (await get(`${h.serveUrl}/.well-known/vex-repository.json`)).body;
    up.reset();
    h.events.emitted.length = 0;

    const outcome = await h.runJob();
    assert.equal(outcome.status, 'skipped');
    assert.equal(up.requests.length, 2);
    assert.equal(up.count(GH.manifest), 1);
    assert.equal(up.count(GH.zip), 1);
    for (const r of up.requests) {
      assert.equal(r.method, 'GET');
      assert.ok(r.headers['if-none-match'], `${r.path} sent If-None-Match`);
      assert.ok(r.headers['if-modified-since'], `${r.path} sent If-Modified-Since`);
    }
    assert.deepEqual(await versions(), [first]);
    assert.ok(h.events.vexStored().every((e) => !e.changed));
    assert.ok((await get(`${h.serveUrl}/.well-known/vex-repository.json`)).body.equals(manifestBefore));
  });

  test('a changed archive is served after one run; the previous version stays for the grace period', async () => {
    const [first] = await versions();
    const next = await changedZip('2026-04-01T00:00:00Z');
    up.set(GH.zip, next, 'application/zip');
    h.events.emitted.length = 0;
    assert.equal((await h.runJob()).status, 'success');
    const served = await get(`${h.serveUrl}/vex/vexhub/archive.zip`);
    assert.ok(served.body.equals(next));
    assert.deepEqual((await versions()).sort(), [first, sha256(next)].sort());
    const [event] = h.events.vexStored();
    assert.equal(event.changed, true);
    assert.equal(event.updatedAt, '2026-04-01T00:00:00Z');
  });

  test('a changed manifest alone is republished in place', async () => {
    const manifest = JSON.parse((await fixture('vex-repository.json')).toString());
    manifest.description = 'VEX Repository by Aqua Security (changed)';
    up.set(GH.manifest, JSON.stringify(manifest, null, 2));
    const before = await versions();
    assert.equal((await h.runJob()).status, 'success');
    const served = JSON.parse(
      (await get(`${h.serveUrl}/vexhub/.well-known/vex-repository.json`)).body.toString(),
    );
    assert.equal(served.description, 'VEX Repository by Aqua Security (changed)');
    assert.equal(served.versions[0].locations[0].url, `${h.serveUrl}/vex/vexhub/archive.zip//vexhub-main`);
    assert.deepEqual(await versions(), before);
  });

  test('a source without validators (no ETag/Last-Modified) that serves the same bytes is skipped', async () => {
    up.reset();
    // Same bytes, no validators: a full 200 every time, and the mirror compares the digest.
    up.set(GH.zip, (await get(`${h.serveUrl}/vex/vexhub/archive.zip`)).body, 'application/zip', false);
    h.events.emitted.length = 0;
    assert.equal((await h.runJob()).status, 'skipped');
    up.reset();
    const outcome = await h.runJob();
    assert.equal(outcome.status, 'skipped');
    assert.equal(up.count(GH.zip), 1);
    assert.equal(up.requests.find((r) => r.path === GH.zip)?.headers['if-none-match'], undefined);
    assert.ok(h.events.vexStored().every((e) => !e.changed));
  });
});

describe('restart and grace period', () => {
  let up: FakeUpstream;
  let stateDir: string;
  before(async () => {
    up = await new FakeUpstream().start();
    await seedGithub(up);
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'vexhub-restart-'));
  });
  after(async () => {
    await up.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  test('a restarted daemon serves the published version at once and drops old versions after the grace', async () => {
    const h1 = await startHarness({ graceMinutes: 0 }, { githubFrom: up, stateDir });
    await h1.runJob();
    await h1.stop();

    const h2 = await startHarness({ graceMinutes: 0 }, { githubFrom: up, stateDir });
    try {
      const before = await get(`${h2.serveUrl}/vex/vexhub/archive.zip`);
      assert.equal(before.status, 200, 'served from disk before any run');
      assert.ok(before.body.equals(await fixture('vexhub-main.zip')));
      // The new publicUrl changes the rewritten location: republished without a download of the archive.
      up.reset();
      assert.equal((await h2.runJob()).status, 'success');
      const manifest = JSON.parse(
        (await get(`${h2.serveUrl}/.well-known/vex-repository.json`)).body.toString(),
      );
      assert.equal(
        manifest.versions[0].locations[0].url,
        `${h2.serveUrl}/vex/vexhub/archive.zip//vexhub-main`,
      );
      assert.equal(up.count(GH.zip), 1);

      const next = await changedZip('2026-05-01T00:00:00Z');
      up.set(GH.zip, next, 'application/zip');
      await h2.runJob();
      const dirs = await readdir(path.join(h2.pluginDir, 'repositories', 'vexhub', 'versions'));
      assert.deepEqual(dirs, [sha256(next)], 'graceMinutes: 0 keeps only the current version');
    } finally {
      await h2.stop();
    }
  });
});

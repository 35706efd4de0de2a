// VEX across the air gap: a connected mirror exports its served version (OUT/vex/NAME); an inside
// mirror whose repository has `source: import` and no network takes it through the same checks as a
// download, serves it rewritten to its own URL, and refuses a damaged export naming the file.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ArchiveInvalidError } from '@trivy-mirror/plugin-api';
import JSZip from 'jszip';
import { type VexMirror, VexMirrorService } from '../src/index.js';
import { FakeUpstream, fixture, get, type Harness, seedGithub, startHarness } from './helpers.js';

describe('export and import of VEX versions', () => {
  let up: FakeUpstream;
  let connected: Harness;
  let inside: Harness;
  let work: string;
  let out: string;
  const mirror = (h: Harness) => h.container.get<VexMirror>(VexMirrorService);

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'vex-transfer-'));
    up = await new FakeUpstream().start();
    await seedGithub(up);
    connected = await startHarness({}, { githubFrom: up });
    assert.equal((await connected.runJob()).status, 'success');
    out = path.join(work, 'export');
    const report = await mirror(connected).exportTo(out);
    assert.equal(report.length, 1);
    // a second export of the same version copies nothing
    assert.equal((await mirror(connected).exportTo(out))[0].bytesCopied, 0);
    await up.stop();
    inside = await startHarness({ repositories: [{ name: 'vexhub', source: 'import' }] });
  });
  after(async () => {
    await connected?.stop();
    await inside?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('before any import: not ready, the job says where versions come from', async () => {
    await assert.rejects(inside.runJob(), /NOT_IMPORTED|comes only from `trivy-mirror import DIR`/);
    const health = mirror(inside).health();
    assert.equal(health.ready, false);
    assert.match(String(health.reason), /vexhub \(source: import: run `trivy-mirror import DIR`\)/);
  });

  test('import: served byte-identical, manifest rewritten to this mirror, vex.stored emitted', async () => {
    const plan = await mirror(inside).planImport(out);
    assert.deepEqual(plan.skipped, []);
    const [published] = (await mirror(inside).applyImport(plan)).imported;
    assert.equal(published.importedFrom, path.resolve(out));
    assert.equal((await inside.runJob()).status, 'success');
    const stored = inside.events.emitted.find((e) => e.name === 'vex.stored');
    assert.ok(stored, 'vex.stored emitted');
    const m = await get(`${inside.serveUrl}/.well-known/vex-repository.json`);
    const location = JSON.parse(m.body.toString()).versions[0].locations[0].url as string;
    assert.equal(location, `${inside.serveUrl}/vex/vexhub/archive.zip//vexhub-main`);
    const archive = await get(`${inside.serveUrl}/vex/vexhub/archive.zip`);
    assert.ok(archive.body.equals(await fixture('vexhub-main.zip')));
    const health = mirror(inside).health();
    assert.equal(health.ready, true);
    const repos = health.status?.repositories as Record<string, Record<string, unknown>>;
    const repo = repos.vexhub;
    assert.equal(repo.source, 'import');
    assert.equal(repo.importedFrom, path.resolve(out));
  });

  test('a damaged export is refused naming the file; the served version stays', async () => {
    const before = (await get(`${inside.serveUrl}/vex/vexhub/archive.zip`)).body;
    const bad = path.join(work, 'bad');
    await cp(out, bad, { recursive: true });
    // a valid zip that lacks index.json, with version.json made to match it
    const zip = await JSZip.loadAsync(await fixture('vexhub-main.zip'));
    zip.remove('vexhub-main/index.json');
    const bytes = await zip.generateAsync({ type: 'nodebuffer' });
    const archive = path.join(bad, 'vex', 'vexhub', 'archive.zip');
    await writeFile(archive, bytes);
    const versionFile = path.join(bad, 'vex', 'vexhub', 'version.json');
    const record = JSON.parse(await readFile(versionFile, 'utf8'));
    record.version = createHash('sha256').update(bytes).digest('hex');
    record.archiveSize = bytes.length;
    await writeFile(versionFile, JSON.stringify(record));
    await assert.rejects(mirror(inside).planImport(bad), (err: unknown) => {
      assert.ok(err instanceof ArchiveInvalidError);
      assert.ok(err.message.includes(archive), err.message);
      assert.match(err.message, /index\.json: missing/);
      return true;
    });
    // version.json of another repository
    record.repository = 'other';
    await writeFile(versionFile, JSON.stringify(record));
    await assert.rejects(
      mirror(inside).planImport(bad),
      new RegExp(`${versionFile}: not a trivy-mirror.vex/v1 record`),
    );
    assert.equal((await inside.runJob()).status, 'skipped');
    assert.ok((await get(`${inside.serveUrl}/vex/vexhub/archive.zip`)).body.equals(before));
  });

  test('a repository in the export that this config does not name is skipped, not imported', async () => {
    const other = await startHarness({ repositories: [{ name: 'elsewhere', source: 'import' }] });
    try {
      const plan = await mirror(other).planImport(out);
      assert.deepEqual(plan.skipped, ['vexhub']);
      assert.deepEqual(plan.staged, []);
      assert.deepEqual(mirror(other).notInImport(plan), ['elsewhere']);
    } finally {
      await other.stop();
    }
  });
});

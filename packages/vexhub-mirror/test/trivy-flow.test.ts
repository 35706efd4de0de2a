// End to end in-process: the real VEX Hub snapshot from a loopback "GitHub" and a spec repository, mirrored,
// then consumed the way Trivy does (zip and tar.gz).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClientConfigContribution, HealthCheck } from '@trivy-mirror/plugin-api';
import { renderRepositoryYaml } from '../src/index.js';
import { FakeUpstream, fixture, GH, get, type Harness, seedGithub, sha256, startHarness } from './helpers.js';
import { trivyFetch } from './trivy-client.js';

let up: FakeUpstream;
let work: string;

before(async () => {
  up = await new FakeUpstream().start();
  await seedGithub(up);
  work = await mkdtemp(path.join(os.tmpdir(), 'vexhub-trivy-'));
});
after(async () => {
  await up.stop();
  await rm(work, { recursive: true, force: true });
});

describe('GitHub repository served as zip (default)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({}, { githubFrom: up });
  });
  after(() => h.stop());

  test('503 with a JSON error and not ready before the first run', async () => {
    const res = await get(`${h.serveUrl}/.well-known/vex-repository.json`);
    assert.equal(res.status, 503);
    assert.match(JSON.parse(res.body.toString()).error, /vexhub has not been mirrored yet/);
    const archive = await get(`${h.serveUrl}/vex/vexhub/archive.zip`, { method: 'HEAD' });
    assert.equal(archive.status, 503);
    const [health] = h.container.getAll<HealthCheck>(HealthCheck);
    const report = await health.check();
    assert.equal(report.ready, false);
  });

  test('first run mirrors the snapshot and Trivy can consume it', async () => {
    const outcome = await h.runJob();
    assert.equal(outcome.status, 'success');
    const zip = await fixture('vexhub-main.zip');
    for (const repoUrl of [h.serveUrl, `${h.serveUrl}/vexhub`]) {
      const r = await trivyFetch(repoUrl, path.join(work, `zip-${repoUrl.length}`));
      assert.equal(r.type, 'zip');
      assert.equal(r.subdir, 'vexhub-main');
      assert.equal(r.location, `${h.serveUrl}/vex/vexhub/archive.zip//vexhub-main`);
      assert.ok(r.archive.equals(zip), 'archive served byte-identical to upstream');
      assert.equal(r.packages, 57);
      // Everything but the location is kept verbatim.
      const upstream = JSON.parse((await fixture('vex-repository.json')).toString());
      upstream.versions[0].locations = [{ url: r.location }];
      assert.deepEqual(r.manifest, upstream);
    }
    const stored = h.events.vexStored();
    assert.equal(stored.length, 1);
    assert.equal(stored[0].changed, true);
    assert.equal(stored[0].repository, 'vexhub');
    assert.equal(stored[0].updatedAt, '2026-03-23T00:48:43.87933027Z');
    assert.equal(stored[0].etag, `sha256:${sha256(zip)}`);
    assert.match(stored[0].contentDir, /versions\/[0-9a-f]{64}\/content$/);
  });

  test('upstream requests went to the GitHub raw manifest and the branch zip', () => {
    assert.equal(up.count(GH.manifest), 1);
    assert.equal(up.count(GH.zip), 1);
    assert.equal(up.count(GH.tarGz), 0);
  });

  test('archive headers: types, ranges, no ETag or 304 by default', async () => {
    const url = `${h.serveUrl}/vex/vexhub/archive.zip`;
    const full = await get(url);
    assert.equal(full.headers.get('content-type'), 'application/zip');
    assert.equal(full.headers.get('accept-ranges'), 'bytes');
    assert.ok(full.headers.get('last-modified'));
    assert.equal(full.headers.get('etag'), null);
    const partial = await get(url, { headers: { Range: 'bytes=10-19' } });
    assert.equal(partial.status, 206);
    assert.equal(partial.headers.get('content-range'), `bytes 10-19/${full.body.length}`);
    assert.ok(partial.body.equals(full.body.subarray(10, 20)));
    const tail = await get(url, { headers: { Range: 'bytes=-5' } });
    assert.ok(tail.body.equals(full.body.subarray(-5)));
    const unsat = await get(url, { headers: { Range: `bytes=${full.body.length}-` } });
    assert.equal(unsat.status, 416);
    // Older Trivy wipes its cache on 304: a stored ETag must never earn one.
    const cond = await get(url, { headers: { 'If-None-Match': `"${sha256(full.body)}"` } });
    assert.equal(cond.status, 200);
    const manifest = await get(`${h.serveUrl}/.well-known/vex-repository.json`, { method: 'HEAD' });
    assert.equal(manifest.headers.get('content-type'), 'application/json');
    assert.ok(Number(manifest.headers.get('content-length')) > 100);
    assert.equal((await get(`${h.serveUrl}/vex/vexhub/archive.tar.gz`)).status, 404);
    assert.equal((await get(`${h.serveUrl}/vex/other/archive.zip`)).status, 404);
  });

  test('health, metrics and client config', async () => {
    const [health] = h.container.getAll<HealthCheck>(HealthCheck);
    const report = await health.check();
    assert.equal(report.ready, true);
    const status = (report.status as { repositories: Record<string, Record<string, unknown>> }).repositories
      .vexhub;
    assert.equal(status.source, 'https://github.com/aquasecurity/vexhub');
    assert.match(String(status.version), /^sha256:[0-9a-f]{64}$/);
    assert.equal(status.updatedAt, '2026-03-23T00:48:43.87933027Z');
    assert.ok(status.fetchedAt);
    const metrics = await h.metrics.metrics();
    assert.match(
      metrics,
      /trivy_mirror_vex_updated_timestamp_seconds\{repository="vexhub"\} 1774226923\.879/,
    );
    const [cc] = h.container.getAll<ClientConfigContribution>(ClientConfigContribution);
    const section = cc.render({ publicUrl: 'https://bastion.example:8443' })!;
    assert.deepEqual(section.flags, ['--vex repo']);
    assert.equal(section.files?.[0].path, '$XDG_DATA_HOME/.trivy/vex/repository.yaml');
    assert.equal(
      section.files?.[0].content,
      renderRepositoryYaml({ publicUrl: 'https://bastion.example:8443', repositories: ['vexhub'] }),
    );
    assert.match(
      section.files?.[0].content ?? '',
      /- name: vexhub\n {4}url: https:\/\/bastion\.example:8443\n {4}enabled: true/,
    );
    assert.ok(section.notes?.some((n) => n.includes('--skip-vex-repo-update')));
  });
});

describe('GitHub repository served as tar.gz', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(
      {
        etag: true,
        repositories: [{ name: 'hub', url: 'https://github.com/aquasecurity/vexhub', archive: 'tar.gz' }],
      },
      { githubFrom: up },
    );
  });
  after(() => h.stop());

  test('Trivy consumes the tar.gz; ETag and 304 only because etag: true', async () => {
    await h.runJob();
    const r = await trivyFetch(h.serveUrl, path.join(work, 'targz'));
    assert.equal(r.type, 'tar.gz');
    assert.equal(r.location, `${h.serveUrl}/vex/hub/archive.tar.gz//vexhub-main`);
    assert.ok(r.archive.equals(await fixture('vexhub-main.tar.gz')));
    assert.equal(r.packages, 57);
    const res = await get(r.archiveUrl, { method: 'HEAD' });
    assert.equal(res.headers.get('content-type'), 'application/gzip');
    const etag = res.headers.get('etag');
    assert.ok(etag);
    assert.equal((await get(r.archiveUrl, { headers: { 'If-None-Match': etag } })).status, 304);
    // Trivy v0.54-v0.72 lose their VEX cache on a 304: never an ETag or a 304 for them, also with etag: true.
    for (const ua of ['trivy/0.54.0', 'trivy/0.68.2', 'trivy/0.72.1']) {
      const old = await get(r.archiveUrl, { headers: { 'If-None-Match': etag, 'User-Agent': ua } });
      assert.equal(old.status, 200, ua);
      assert.equal(old.headers.get('etag'), null, ua);
    }
    for (const ua of ['trivy/0.73.0', 'trivy/0.74.0', 'trivy/0.53.1'])
      assert.equal(
        (await get(r.archiveUrl, { headers: { 'If-None-Match': etag, 'User-Agent': ua } })).status,
        304,
        ua,
      );
  });
});

describe('spec repository (/.well-known) with a tar.gz location and //SUBDIR', () => {
  let h: Harness;
  before(async () => {
    const manifest = JSON.parse((await fixture('vex-repository.json')).toString());
    manifest.versions = [
      { spec_version: '0.2', locations: [{ url: `${up.url}/nowhere.zip` }], update_interval: '1h' },
      { ...manifest.versions[0], locations: [{ url: `${up.url}/spec/archives/vex.tgz//vexhub-main` }] },
    ];
    up.set('/spec/.well-known/vex-repository.json', JSON.stringify(manifest), 'application/json');
    up.set('/spec/archives/vex.tgz', await fixture('vexhub-main.tar.gz'), 'application/gzip');
    // A location without a suffix: go-getter's ?archive=zip, with //SUBDIR before the query.
    const zipManifest = JSON.parse((await fixture('vex-repository.json')).toString());
    zipManifest.versions[0].locations = [
      { url: `${up.url}/missing.zip//vexhub-main` },
      { url: `${up.url}/download//vexhub-main?id=7&archive=zip` },
    ];
    up.set('/zipped/.well-known/vex-repository.json', JSON.stringify(zipManifest), 'application/json');
    up.set('/download', await fixture('vexhub-main.zip'), 'application/octet-stream');
    h = await startHarness({
      repositories: [
        { name: 'corp', url: `${up.url}/spec` },
        { name: 'zipped', url: `${up.url}/zipped` },
      ],
    });
  });
  after(() => h.stop());

  test('mirrors from the first 0.1 location and rewrites only that version', async () => {
    await h.runJob();
    const r = await trivyFetch(`${h.serveUrl}/corp`, path.join(work, 'spec'));
    assert.equal(r.location, `${h.serveUrl}/vex/corp/archive.tar.gz//vexhub-main`);
    assert.equal(r.packages, 57);
    assert.equal(r.manifest.versions[0].locations[0].url, `${up.url}/nowhere.zip`);
  });

  test('?archive=zip locations are honoured and a failing first location falls through to the next', async () => {
    const r = await trivyFetch(`${h.serveUrl}/zipped`, path.join(work, 'zipped'));
    assert.equal(r.location, `${h.serveUrl}/vex/zipped/archive.zip//vexhub-main`);
    assert.ok(r.archive.equals(await fixture('vexhub-main.zip')));
    const download = up.requests.find((q) => q.path === '/download');
    assert.ok(download, 'the second location was fetched');
    assert.equal(up.count('/missing.zip'), 1);
  });
});

// End to end for vexhub-mirror: the built daemon mirrors the real VEX Hub snapshot from a zip and a
// tar.gz source and serves it so that Trivy's own steps work; unchanged sources cost one conditional
// request per URL; hostile upstreams fail the job while the old version stays served byte-identical;
// cache-populator writes vex/repositories/NAME; client-config prints the repository.yaml entries.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningRegistry, seedUpstream, startRegistry } from '@trivy-mirror/fixtures';
import { getStatus, runJob, waitReady } from './helpers/admin-api.js';
import { type DaemonProcess, freePort, runCli, startDaemon } from './helpers/daemon-process.js';
import { trivyVexFetch } from './helpers/trivy-vex-client.js';
import { startVexServer, type VexServer } from './helpers/vex-server.js';
import {
  corruptZip,
  snapshotIndex,
  snapshotZipBytes,
  startVariantServer,
  type VariantServer,
  zipSlip,
  zipWithExtraDocument,
  zipWithIndex,
  zipWithout,
} from './helpers/vex-variants.js';

let root: string;
let registry: RunningRegistry;
let vex: VexServer;
let variants: VariantServer;
let daemon: DaemonProcess;
let publicUrl: string;
let cacheDir: string;
let configFile: string;
let fetchNo = 0;

const work = () => path.join(root, `fetch-${++fetchNo}`);

async function get(url: string): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tm-e2e-vex-'));
  // oci-sync needs a reachable loopback upstream (the defaults are public registries).
  registry = await startRegistry();
  await seedUpstream({
    registryUrl: registry.url,
    prefix: 'aquasec',
    workDir: path.join(root, 'seed'),
    dbBytes: 256 * 1024,
    javaDbBytes: 256 * 1024,
  });
  vex = await startVexServer();
  variants = await startVariantServer();
  const admin = await freePort();
  const serve = await freePort();
  publicUrl = `http://127.0.0.1:${serve}`;
  cacheDir = path.join(root, 'cache');
  configFile = path.join(root, 'config.yaml');
  await fs.writeFile(
    configFile,
    [
      `stateDir: ${path.join(root, 'state')}`,
      `admin: { listen: 127.0.0.1:${admin} }`,
      `serve: { listen: 127.0.0.1:${serve}, publicUrl: ${publicUrl} }`,
      'log: { level: info, format: json }',
      'plugins:',
      '  auth-providers: { dockerConfig: false }',
      `  oci-sync: { sources: [${registry.host}/aquasec] }`,
      `  cache-populator: { targets: [{ dir: ${cacheDir}, include: [vex] }] }`,
      '  vexhub-mirror:',
      '    repositories:',
      `      - { name: vexhub, url: ${vex.url}/vexhub }`,
      `      - { name: vexhub-tgz, url: ${vex.url}/vexhub-tgz }`,
      `      - { name: hostile, url: ${variants.repoUrl} }`,
      '',
    ].join('\n'),
  );
  daemon = await startDaemon({
    args: ['run', '--config', configFile],
    adminUrl: `http://127.0.0.1:${admin}`,
  });
  await waitReady(daemon);
  // Ready means cache-populator has also written every repository vexhub-mirror announced.
  for (const name of ['vexhub', 'vexhub-tgz', 'hostile']) {
    await fs.stat(path.join(cacheDir, 'vex', 'repositories', name, 'cache.json'));
  }
});

after(async () => {
  await daemon?.stop();
  await vex?.close();
  await variants?.close();
  await registry?.stop();
  await fs.rm(root, { recursive: true, force: true });
});

describe('Trivy against the daemon', () => {
  test('zip and tar.gz sources: manifest, spec 0.1, first location, HEAD+GET, index and every document', async () => {
    const upstream = await snapshotIndex();
    const zip = await trivyVexFetch(publicUrl, work());
    assert.equal(zip.type, 'zip');
    assert.equal(zip.subdir, 'vexhub-main');
    assert.ok(zip.archiveUrl.startsWith(`${publicUrl}/`), `served from the mirror: ${zip.archiveUrl}`);
    assert.equal(zip.index.packages.length, upstream.packages.length);
    assert.ok(zip.archive.equals(snapshotZipBytes()), 'the zip is served byte-identical');
    // The repository is also reachable under its name.
    const named = await get(`${publicUrl}/vexhub/.well-known/vex-repository.json`);
    assert.equal(named.status, 200);
    assert.ok(named.body.equals(zip.manifestBytes));

    const tgz = await trivyVexFetch(`${publicUrl}/vexhub-tgz`, work());
    assert.equal(tgz.type, 'tar.gz');
    assert.equal(tgz.subdir, 'vexhub-main');
    assert.ok(tgz.archiveUrl.startsWith(`${publicUrl}/`), tgz.archiveUrl);
    assert.equal(tgz.index.packages.length, upstream.packages.length);
    assert.deepEqual([...tgz.documents.keys()].sort(), [...zip.documents.keys()].sort());
    assert.notEqual(tgz.archiveUrl, zip.archiveUrl);
  });
});

describe('conditional updates', () => {
  test('an unchanged source costs one conditional request per URL and republishes nothing', async () => {
    const before = {
      manifest: await get(`${publicUrl}/.well-known/vex-repository.json`),
      zip: await get(`${publicUrl}/vex/vexhub/archive.zip`),
      tgz: await get(`${publicUrl}/vex/vexhub-tgz/archive.tar.gz`),
      link: await fs.readlink(path.join(cacheDir, 'vex', 'repositories', 'vexhub')),
    };
    const n0 = vex.requests.length;
    const populatorRuns = () =>
      daemon.logs().filter((l) => l.msg === 'job finished' && l.job === 'cache-populator');
    const p0 = populatorRuns().length;
    const run = await runJob(daemon, 'vexhub-mirror');
    assert.equal(run.status, 'skipped', run.summary);
    const made = vex.requests.slice(n0);
    const byPath = new Map<string, typeof made>();
    for (const r of made) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);
    assert.deepEqual([...byPath.keys()].sort(), [
      '/archives/main.tar.gz',
      '/archives/main.zip',
      '/vexhub-tgz/.well-known/vex-repository.json',
      '/vexhub/.well-known/vex-repository.json',
    ]);
    for (const [p, list] of byPath) {
      assert.equal(list.length, 1, `one request for ${p}`);
      assert.equal(list[0]!.method, 'GET');
      assert.ok(list[0]!.headers['if-none-match'], `${p} is conditional`);
      assert.equal(list[0]!.status, 304, `${p} answered 304`);
    }
    const after = {
      manifest: await get(`${publicUrl}/.well-known/vex-repository.json`),
      zip: await get(`${publicUrl}/vex/vexhub/archive.zip`),
      tgz: await get(`${publicUrl}/vex/vexhub-tgz/archive.tar.gz`),
    };
    assert.ok(after.manifest.body.equals(before.manifest.body));
    assert.ok(after.zip.body.equals(before.zip.body));
    assert.ok(after.tgz.body.equals(before.tgz.body));
    assert.equal(
      after.zip.headers.get('last-modified'),
      before.zip.headers.get('last-modified'),
      'not republished',
    );
    // cache-populator got `vex.stored` (changed: false), ran, and left the cache dir alone.
    await daemon.waitForLog(() => populatorRuns().length > p0, 15_000);
    assert.equal(populatorRuns().at(-1)!.status, 'skipped', String(populatorRuns().at(-1)!.summary));
    assert.equal(await fs.readlink(path.join(cacheDir, 'vex', 'repositories', 'vexhub')), before.link);
  });

  test('a changed archive (one more document) is served after one job run and reaches the cache dir', async () => {
    const upstream = await snapshotIndex();
    const extra = await zipWithExtraDocument();
    vex.setArchive('zip', extra.archive);
    const run = await runJob(daemon, 'vexhub-mirror');
    assert.equal(run.status, 'success', run.summary);
    const zip = await trivyVexFetch(publicUrl, work());
    assert.equal(zip.index.packages.length, upstream.packages.length + 1);
    assert.ok(zip.documents.has(extra.location), 'the new document is listed and parses');
    assert.ok(zip.archive.equals(extra.archive));
    const tgz = await trivyVexFetch(`${publicUrl}/vexhub-tgz`, work());
    assert.equal(tgz.index.packages.length, upstream.packages.length, 'the other repository is unchanged');
    // cache-populator follows the vex.stored event.
    const indexFile = path.join(cacheDir, 'vex', 'repositories', 'vexhub', '0.1', 'index.json');
    const t0 = Date.now();
    for (;;) {
      const idx = JSON.parse(await fs.readFile(indexFile, 'utf8')) as { packages: unknown[] };
      if (idx.packages.length === upstream.packages.length + 1) break;
      assert.ok(Date.now() - t0 < 15_000, 'cache dir not updated');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});

describe('the cache dir and client config', () => {
  test('vex/repositories/NAME holds vex-repository.json, cache.json (UpdatedAt, ETags) and 0.1/index.json', async () => {
    for (const [name, url] of [
      ['vexhub', publicUrl],
      ['vexhub-tgz', `${publicUrl}/vexhub-tgz`],
    ] as const) {
      const dir = path.join(cacheDir, 'vex', 'repositories', name);
      const served = await get(`${url}/.well-known/vex-repository.json`);
      const location = (
        JSON.parse(served.body.toString()) as { versions: { locations: { url: string }[] }[] }
      ).versions[0]!.locations[0]!.url;
      // Trivy reads the cached manifest and never refreshes it: it must be the mirror's.
      const cachedManifest = await fs.readFile(path.join(dir, 'vex-repository.json'));
      assert.ok(cachedManifest.equals(served.body), `${name}: cached manifest = served manifest`);
      const cache = JSON.parse(await fs.readFile(path.join(dir, 'cache.json'), 'utf8')) as {
        UpdatedAt: string;
        ETags: Record<string, string>;
      };
      assert.match(cache.UpdatedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
      const age = Date.now() - Date.parse(cache.UpdatedAt);
      assert.ok(age >= 0 && age < 120_000, `${name}: UpdatedAt is the population time (${cache.UpdatedAt})`);
      assert.deepEqual(Object.keys(cache.ETags), [location], `${name}: ETags keyed by the location URL`);
      assert.ok(cache.ETags[location], 'a non-empty ETag');
      const index = JSON.parse(await fs.readFile(path.join(dir, '0.1', 'index.json'), 'utf8')) as {
        packages: { location: string }[];
      };
      for (const p of index.packages)
        JSON.parse(await fs.readFile(path.join(dir, '0.1', p.location), 'utf8'));
    }
  });

  test('client-config --config prints the repository.yaml entries with the mirror URL', async () => {
    const r = await runCli(['client-config', '--config', configFile], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /repository\.yaml:/);
    assert.match(
      r.stdout,
      new RegExp(`- name: vexhub\\n\\s+url: ${publicUrl.replace(/\./g, '\\.')}\\n\\s+enabled: true`),
    );
    assert.match(
      r.stdout,
      new RegExp(`- name: vexhub-tgz\\n\\s+url: ${publicUrl.replace(/\./g, '\\.')}/vexhub-tgz\\n`),
    );
    assert.match(r.stdout, /--vex repo/);
    assert.match(r.stdout, /--skip-vex-repo-update/);
  });
});

describe('hostile upstreams: the job fails clearly and the old version stays served', () => {
  let goodArchive: Buffer;
  let goodManifest: Buffer;

  before(async () => {
    goodArchive = (await get(`${publicUrl}/vex/hostile/archive.zip`)).body;
    goodManifest = (await get(`${publicUrl}/hostile/.well-known/vex-repository.json`)).body;
    assert.ok(goodArchive.equals(snapshotZipBytes()));
  });

  after(() => {
    variants.setArchive(snapshotZipBytes());
    variants.setManifest(variants.goodManifest());
  });

  const cases: { name: string; apply: () => Promise<void>; message: RegExp }[] = [
    {
      name: 'corrupt zip',
      apply: async () => variants.setArchive(corruptZip()),
      message: /corrupt zip/,
    },
    {
      name: 'zip-slip entry',
      apply: async () => variants.setArchive(await zipSlip()),
      message: /path traversal \("\.\."\) leaves the archive/,
    },
    {
      name: 'missing index.json',
      apply: async () => variants.setArchive(await zipWithout('index.json')),
      message: /index\.json: missing/,
    },
    {
      name: 'index pointing outside the archive',
      apply: async () =>
        variants.setArchive(
          await zipWithIndex((idx) => {
            idx.packages[0]!.location = '../../../etc/passwd';
          }),
        ),
      message: /location "\.\.\/\.\.\/\.\.\/etc\/passwd" leaves the repository folder/,
    },
    {
      name: 'manifest without spec_version 0.1',
      apply: async () => {
        variants.setArchive(snapshotZipBytes());
        const m = variants.goodManifest() as { versions: { spec_version: string }[] };
        m.versions[0]!.spec_version = '0.2';
        variants.setManifest(m);
      },
      message: /spec_version "0\.1"/,
    },
  ];
  for (const c of cases) {
    test(c.name, async (t) => {
      await c.apply();
      const run = await runJob(daemon, 'vexhub-mirror');
      t.diagnostic(run.summary ?? '');
      assert.equal(run.status, 'failure');
      assert.match(run.summary ?? '', /hostile/);
      assert.match(run.summary ?? '', c.message);
      const status = await getStatus(daemon);
      const job = (
        status.jobs as { id: string; lastRun?: { status: string; error?: { message: string } } }[]
      ).find((j) => j.id === 'vexhub-mirror');
      assert.equal(job?.lastRun?.status, 'failure');
      assert.match(job?.lastRun?.error?.message ?? '', c.message);
      const repoStatus = JSON.stringify(status.components);
      assert.match(repoStatus, /"hostile":\{[^}]*"lastError":\{"message":"vex repository hostile/);
      assert.ok(
        daemon
          .logs()
          .some(
            (l) =>
              l.msg === 'vex mirror failed; the previous version stays served' && l.repository === 'hostile',
          ),
        'logged',
      );
      const archive = await get(`${publicUrl}/vex/hostile/archive.zip`);
      assert.equal(archive.status, 200);
      assert.ok(archive.body.equals(goodArchive), 'old archive served byte-identical');
      const manifest = await get(`${publicUrl}/hostile/.well-known/vex-repository.json`);
      assert.ok(manifest.body.equals(goodManifest), 'old manifest served byte-identical');
      // The healthy repositories are untouched and still ready.
      const ready = await fetch(`${daemon.adminUrl}/readyz`);
      await ready.arrayBuffer();
      assert.equal(ready.status, 200);
      await assert.rejects(fs.stat(path.join(root, 'evil.json')));
    });
  }
});

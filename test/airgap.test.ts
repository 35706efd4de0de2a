// End to end for the air-gapped site, Trivy's self-hosting guide's main scenario: a connected side
// syncs from a loopback upstream registry and VEX server and exports; the upstreams are stopped;
// an inside daemon with no upstream (oci-sync sources: [], VEX source: import) is filled by
// `import` and serves /v2/ (read by skopeo), VEX (rewritten to its publicUrl) and a cache dir, without
// one outbound connection. Hostile exports are refused naming the file; a newer export imported
// into the running daemon is taken up with readers seeing old or new, never a mix; /status and
// /metrics say how fresh the store is.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import {
  generateArtifact,
  pushArtifact,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { getStatus, waitReady } from './helpers/admin-api.js';
import { type DaemonProcess, eventually, freePort, runCli, startDaemon } from './helpers/daemon-process.js';
import { getManifest, MANIFEST_ACCEPT, sha256, skopeoRaw, tempDir } from './helpers/oci-e2e.js';
import { startVexServer, type VexServer } from './helpers/vex-server.js';
import { snapshotZipBytes, zipWithExtraDocument } from './helpers/vex-variants.js';

const DAY = 86_400_000;
const KiB = 1024;

type Json = Record<string, unknown>;

describe('air gap: export, import, an inside daemon without upstream (e2e)', { timeout: 300_000 }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let upstream: RunningRegistry;
  /** A registry inside the air gap that the inside daemon pushes to (like a Harbor). */
  let internal: RunningRegistry;
  let vex: VexServer;
  let first: SeedUpstreamResult;
  let newDigests: Record<string, string>;
  let newZip: Buffer;
  let connectedState: string;
  let export1: string;
  let export2: string;
  let insideConfig: string;
  let cacheDir: string;
  let publicUrl: string;
  let daemon: DaemonProcess;
  /** What the connected side held at the first export: VEX archive bytes and upstream manifest. */
  let connectedVex: { archive: Buffer; manifest: Json };

  const connectedVexNow = async () => {
    const repo = join(connectedState, 'plugins', 'vexhub-mirror', 'repositories', 'vexhub');
    const cur = JSON.parse(await readFile(join(repo, 'current.json'), 'utf8')) as { version: string };
    return {
      archive: await readFile(join(repo, 'versions', cur.version, 'archive.zip')),
      manifest: JSON.parse(
        await readFile(join(repo, 'versions', cur.version, 'upstream-vex-repository.json'), 'utf8'),
      ) as Json,
    };
  };
  const get = async (url: string) => {
    const res = await fetch(url, {
      headers: { accept: MANIFEST_ACCEPT },
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  };
  const servedDbDigest = async () => (await skopeoRaw(`docker://${publicUrl.slice(7)}/trivy-db:2`)).digest;
  const insideImport = (dir: string) => runCli(['import', dir, '--config', insideConfig]);

  before(async () => {
    work = await tempDir('airgap');
    upstream = await startRegistry();
    vex = await startVexServer();
    // The first version is 4 days old and its NextUpdate 3 days past: stale inside (staleAfterHours 24).
    const old = new Date(Math.floor((Date.now() - 4 * DAY) / 1000) * 1000);
    first = await seedUpstream({
      registryUrl: upstream.url,
      prefix: 'aquasec',
      workDir: join(work.dir, 'seed'),
      dbBytes: 256 * KiB,
      javaDbBytes: 256 * KiB,
      seed: 'airgap-1',
      updatedAt: old,
      nextUpdate: new Date(old.getTime() + DAY),
    });
    connectedState = join(work.dir, 'connected');
    const connectedConfig = join(work.dir, 'connected.yaml');
    await writeFile(
      connectedConfig,
      [
        `stateDir: ${connectedState}`,
        'admin: { listen: 127.0.0.1:0 }',
        'plugins:',
        '  auth-providers: { dockerConfig: false }',
        `  oci-sync: { sources: [${upstream.host}/aquasec] }`,
        `  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }`,
        '',
      ].join('\n'),
    );
    const connected = async (out: string) => {
      const s = await runCli(['sync', '--config', connectedConfig]);
      assert.equal(s.code, 0, `sync: ${s.stdout}${s.stderr}`);
      const e = await runCli(['export', '--out', out, '--config', connectedConfig]);
      assert.equal(e.code, 0, `export: ${e.stdout}${e.stderr}`);
      assert.match(e.stdout, /exported vex vexhub/);
    };
    export1 = join(work.dir, 'export-1');
    await connected(export1);
    connectedVex = await connectedVexNow();

    // A newer upstream: new trivy-db and java-db (fresh), a VEX Hub with one more document.
    newDigests = {};
    const fresh = new Date(Math.floor(Date.now() / 1000) * 1000);
    for (const [kind, tag] of [
      ['trivy-db', '2'],
      ['trivy-java-db', '1'],
    ] as const) {
      const a = await generateArtifact({
        kind,
        dbBytes: 256 * KiB,
        seed: 'airgap-2',
        updatedAt: fresh,
        workDir: join(work.dir, 'seed-2'),
      });
      await pushArtifact(upstream.url, `aquasec/${kind}`, tag, a);
      newDigests[kind] = a.manifestDigest;
    }
    newZip = (await zipWithExtraDocument()).archive;
    vex.setArchive('zip', newZip);
    export2 = join(work.dir, 'export-2');
    await connected(export2);

    // Nothing outside is reachable from now on.
    await vex.close();
    await upstream.stop();

    internal = await startRegistry();
    const admin = await freePort();
    const serve = await freePort();
    publicUrl = `http://127.0.0.1:${serve}`;
    cacheDir = join(work.dir, 'cache');
    insideConfig = join(work.dir, 'inside.yaml');
    await writeFile(
      insideConfig,
      [
        `stateDir: ${join(work.dir, 'inside')}`,
        `admin: { listen: 127.0.0.1:${admin} }`,
        `serve: { listen: 127.0.0.1:${serve}, publicUrl: ${publicUrl} }`,
        'log: { level: info, format: json }',
        'plugins:',
        '  auth-providers: { dockerConfig: false }',
        `  oci-sync: { sources: [], destinations: [${internal.host}/trivy], keepVersions: 2, staleAfterHours: 24 }`,
        '  vexhub-mirror: { repositories: [{ name: vexhub, source: import }] }',
        `  cache-populator: { checkIntervalSeconds: 1, targets: [{ dir: ${cacheDir} }] }`,
        '',
      ].join('\n'),
    );
    const im = await insideImport(export1);
    assert.equal(im.code, 0, `import: ${im.stdout}${im.stderr}`);
    assert.match(im.stdout, /imported vex vexhub/);
    assert.match(im.stdout, /no daemon answering/);
    daemon = await startDaemon({
      args: ['run', '--config', insideConfig],
      adminUrl: `http://127.0.0.1:${admin}`,
    });
    await waitReady(daemon, 60_000);
  });

  after(async () => {
    await daemon?.stop();
    await vex?.close().catch(() => undefined);
    await upstream?.stop();
    await internal?.stop();
    await work?.remove();
  });

  test('round trip: /readyz, skopeo reads the same manifest, cache dir, VEX rewritten, no outbound connection', async () => {
    const ready = await get(`${daemon.adminUrl}/readyz`);
    assert.equal(ready.status, 200, ready.body.toString());
    for (const [name, tag] of [
      ['trivy-db', '2'],
      ['trivy-java-db', '1'],
      ['trivy-checks', '2'],
    ]) {
      const want = await skopeoRaw(`oci:${join(connectedState, 'oci', name)}:${tag}`);
      // connected store now holds the newer db: compare with what export 1 carried
      const exported = await skopeoRaw(`oci:${join(export1, name)}:${tag}`);
      const got = await skopeoRaw(`docker://${publicUrl.slice(7)}/${name}:${tag}`);
      assert.ok(got.bytes.equals(exported.bytes), `${name}:${tag} byte-identical to the export`);
      if (name === 'trivy-checks') assert.equal(got.digest, want.digest);
    }
    assert.equal(await servedDbDigest(), first.digests['trivy-db:2']);
    // and pushed to the registry inside
    assert.equal(
      (await skopeoRaw(`docker://${internal.host}/trivy/trivy-db:2`)).digest,
      first.digests['trivy-db:2'],
    );

    // the cache dir holds every part, from the imported versions
    const meta = JSON.parse(await readFile(join(cacheDir, 'db', 'metadata.json'), 'utf8')) as Json;
    const seededMeta = JSON.parse(
      first.artifacts.find((a) => a.name === 'trivy-db')!.artifact.metadataJson!.toString(),
    ) as Json;
    assert.equal(meta.UpdatedAt, seededMeta.UpdatedAt);
    assert.ok(meta.DownloadedAt, 'DownloadedAt set');
    await readFile(join(cacheDir, 'java-db', 'metadata.json'));
    await readFile(join(cacheDir, 'policy', 'metadata.json'));
    await readFile(join(cacheDir, 'vex', 'repositories', 'vexhub', 'cache.json'));

    // VEX: the connected side's manifest, its location rewritten to this daemon; the same archive bytes
    const m = await get(`${publicUrl}/.well-known/vex-repository.json`);
    assert.equal(m.status, 200);
    const served = JSON.parse(m.body.toString()) as { versions: { locations: { url: string }[] }[] };
    const location = served.versions[0].locations[0].url;
    assert.equal(location, `${publicUrl}/vex/vexhub/archive.zip//vexhub-main`);
    const upstreamManifest = structuredClone(connectedVex.manifest) as typeof served;
    upstreamManifest.versions[0].locations = [{ url: location }];
    assert.deepEqual(served, upstreamManifest);
    const archive = await get(location.replace(/\/\/vexhub-main$/, ''));
    assert.equal(archive.status, 200);
    assert.ok(archive.body.equals(connectedVex.archive), 'the archive is byte-identical');
    assert.ok(archive.body.equals(snapshotZipBytes()));

    // no outbound connection: the upstreams are gone and nothing tried them
    const out = daemon.stdout();
    for (const host of [upstream.host, vex.url.slice(7)])
      assert.ok(!out.includes(host), `no mention of ${host}`);
    const msgs = new Set(daemon.logs().map((l) => l.msg));
    for (const bad of [
      'source failed, trying the next one',
      'sync failed',
      'vex mirror failed; the previous version stays served',
    ])
      assert.ok(!msgs.has(bad), bad);
    const status = await getStatus(daemon);
    const components = status.components as Record<string, Json>;
    const artifacts = components['oci-sync'].artifacts as Record<string, Json>;
    for (const [key, a] of Object.entries(artifacts)) {
      assert.equal(a.upstream, 'none (import only)', key);
      assert.equal(a.source, `import ${export1}`, key);
      assert.equal(a.importedFrom, export1, key);
    }
    const repos = components['vexhub-mirror'].repositories as Record<string, Json>;
    assert.equal(repos.vexhub.source, 'import');
    assert.equal(repos.vexhub.importedFrom, export1);
  });

  test('/status says when and from where it was imported and how old it is; a stale store is a warning and a metric', async (t) => {
    const status = await getStatus(daemon);
    assert.equal(status.ready, true);
    const oci = (status.components as Record<string, Json>)['oci-sync'];
    const db = (oci.artifacts as Record<string, Json>)['trivy-db:2'];
    const freshness = String(db.freshness);
    assert.match(
      freshness,
      new RegExp(
        `^imported 20\\d\\d-\\S+ from ${export1.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, 4 days old, next expected 20\\d\\d-\\S+; STALE: NextUpdate was 3 days ago \\(staleAfterHours 24\\), import a newer export$`,
      ),
    );
    assert.equal(db.stale, true);
    assert.ok((oci.warnings as string[]).some((w) => w.startsWith('trivy-db:2: imported')));
    const checks = (oci.artifacts as Record<string, Json>)['trivy-checks:2'];
    assert.match(String(checks.freshness), /^imported \S+ from \S+$/);
    assert.equal(checks.stale, false);

    const metrics = (await get(`${daemon.adminUrl}/metrics`)).body.toString();
    assert.match(metrics, /trivy_mirror_artifact_stale\{artifact="trivy-db",tag="2"\} 1/);
    assert.match(metrics, /trivy_mirror_artifact_stale\{artifact="trivy-checks",tag="2"\} 0/);
    assert.match(
      metrics,
      /trivy_mirror_artifact_imported_timestamp_seconds\{artifact="trivy-db",tag="2"\} \d+/,
    );
    await daemon.waitForLog((l) => l.msg === 'stored version is stale');
    // the cache part is past NextUpdate too, but no sync is asked of a source that does not exist
    await daemon.waitForLog((l) => String(l.msg).startsWith('cache part past its NextUpdate'), 10_000);
    assert.ok(!daemon.logs().some((l) => l.msg === 'cache part stale; requesting a sync'));

    const cli = await runCli(['status', '--config', insideConfig]);
    assert.equal(cli.code, 0, cli.stderr);
    for (const line of cli.stdout.split('\n').filter((l) => /^ {2}(trivy-|vex |warning)/.test(l)))
      t.diagnostic(line);
    assert.match(cli.stdout, /warning: trivy-db:2: imported .* STALE/);
    assert.match(cli.stdout, /vex vexhub .* imported \S+ from /);
  });

  describe('hostile exports are refused, naming the file; the served version stays', () => {
    let n = 0;
    const copyExport = async () => {
      const dir = join(work.dir, `hostile-${++n}`);
      await cp(export2, dir, { recursive: true });
      return dir;
    };
    const layerOf = async (dir: string, name: string, tag: string) => {
      const index = JSON.parse(await readFile(join(dir, name, 'index.json'), 'utf8')) as {
        manifests: { digest: string; annotations?: Record<string, string> }[];
      };
      const entry = index.manifests.find(
        (m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag,
      )!;
      const manifest = JSON.parse(
        await readFile(join(dir, name, 'blobs', 'sha256', entry.digest.slice(7)), 'utf8'),
      );
      return join(dir, name, 'blobs', 'sha256', (manifest.layers[0].digest as string).slice(7));
    };
    const refused = async (t: TestContext, dir: string, file: string, why: RegExp) => {
      const indexBefore = await readFile(join(work.dir, 'inside', 'oci', 'trivy-db', 'index.json'));
      const r = await insideImport(dir);
      t.diagnostic(r.stderr.trim());
      assert.equal(r.code, 1, r.stdout);
      assert.ok(r.stderr.includes(file), `names ${file}: ${r.stderr}`);
      assert.match(r.stderr, why);
      assert.match(r.stderr, /ARCHIVE_INVALID|refused/);
      assert.ok(
        (await readFile(join(work.dir, 'inside', 'oci', 'trivy-db', 'index.json'))).equals(indexBefore),
      );
      assert.equal(await servedDbDigest(), first.digests['trivy-db:2']);
      const archive = await get(`${publicUrl}/vex/vexhub/archive.zip`);
      assert.ok(archive.body.equals(connectedVex.archive), 'the VEX archive served is the old one');
    };

    test('a tampered blob', async (t) => {
      const dir = await copyExport();
      const blob = await layerOf(dir, 'trivy-db', '2');
      const bytes = await readFile(blob);
      bytes[bytes.length >> 1] ^= 0xff;
      await writeFile(blob, bytes);
      await refused(t, dir, blob, /content hashes to sha256:[a-f0-9]{64} \(tampered or damaged\)/);
    });

    test('a truncated VEX archive (as recorded, and with version.json made to match)', async (t) => {
      const dir = await copyExport();
      const archive = join(dir, 'vex', 'vexhub', 'archive.zip');
      await truncate(archive, 4096);
      await refused(t, dir, archive, /4096 bytes, expected \d+ \(truncated or damaged\)/);
      const versionFile = join(dir, 'vex', 'vexhub', 'version.json');
      const record = JSON.parse(await readFile(versionFile, 'utf8')) as Json;
      const cut = await readFile(archive);
      record.version = createHash('sha256').update(cut).digest('hex');
      record.archiveSize = cut.length;
      await writeFile(versionFile, JSON.stringify(record));
      await refused(t, dir, archive, /zip|central directory|archive/i);
    });

    test('a manifest naming a missing blob', async (t) => {
      const dir = await copyExport();
      const blob = await layerOf(dir, 'trivy-java-db', '1');
      await rm(blob);
      await refused(t, dir, blob, /missing \(referenced by manifest sha256:[a-f0-9]{64}\)/);
    });
  });

  test('re-import of a newer export into the running daemon: taken up, keepVersions kept, readers never see a mix', async () => {
    const oldDb = first.digests['trivy-db:2'];
    const newDb = newDigests['trivy-db'];
    const seen = { db: new Set<string>(), vex: new Set<string>(), problems: [] as string[] };
    const oldZipSha = sha256(connectedVex.archive);
    const newZipSha = sha256(newZip);
    let reading = true;
    const dbReader = (async () => {
      while (reading) {
        const m = await getManifest(publicUrl, 'trivy-db', '2');
        const digest = sha256(m.bytes);
        seen.db.add(digest);
        if (m.status !== 200 || (digest !== oldDb && digest !== newDb))
          seen.problems.push(`manifest ${digest}`);
        const layer = JSON.parse(m.bytes.toString()).layers[0] as { digest: string };
        const blob = await get(`${publicUrl}/v2/trivy-db/blobs/${layer.digest}`);
        if (blob.status !== 200 || sha256(blob.body) !== layer.digest)
          seen.problems.push(`blob ${layer.digest}`);
      }
    })();
    const vexReader = (async () => {
      while (reading) {
        const m = await get(`${publicUrl}/.well-known/vex-repository.json`);
        const url = (JSON.parse(m.body.toString()).versions[0].locations[0].url as string).replace(
          /\/\/vexhub-main$/,
          '',
        );
        const a = await get(url);
        const digest = sha256(a.body);
        seen.vex.add(digest);
        if (a.status !== 200 || (digest !== oldZipSha && digest !== newZipSha))
          seen.problems.push(`vex ${digest}`);
      }
    })();
    try {
      const im = await insideImport(export2);
      assert.equal(im.code, 0, `${im.stdout}${im.stderr}`);
      assert.match(im.stdout, /told to take up the new versions \(oci-sync, vexhub-mirror runs started\)/);
      assert.equal(await servedDbDigest(), newDb);
      await eventually(
        async () => seen.vex.has(newZipSha) && seen.db.has(newDb),
        30_000,
        'readers to see the new versions',
      );
      await eventually(
        async () => {
          const meta = JSON.parse(await readFile(join(cacheDir, 'db', 'metadata.json'), 'utf8')) as Json;
          const idx = await readFile(
            join(cacheDir, 'vex', 'repositories', 'vexhub', '0.1', 'index.json'),
            'utf8',
          );
          return meta.UpdatedAt !== undefined && idx.includes('trivy-mirror-e2e-extra') && meta;
        },
        30_000,
        'the cache dir to hold the new db and VEX',
      );
    } finally {
      reading = false;
      await Promise.all([dbReader, vexReader]);
    }
    assert.deepEqual(seen.problems, []);
    assert.ok(seen.db.has(oldDb) || seen.db.size === 1);

    // keepVersions: 2 — the new version tagged, the previous one kept as history
    const index = JSON.parse(
      await readFile(join(work.dir, 'inside', 'oci', 'trivy-db', 'index.json'), 'utf8'),
    ) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    assert.deepEqual(
      index.manifests.map((m) => m.digest),
      [newDb, oldDb],
    );
    assert.equal(index.manifests[0].annotations?.['io.github.trivy-mirror.imported-from'], export2);

    // fresh again: no warning, metric 0
    await eventually(
      async () => {
        const oci = ((await getStatus(daemon)).components as Record<string, Json>)['oci-sync'];
        const db = (oci.artifacts as Record<string, Json>)['trivy-db:2'];
        return (
          db.stale === false && String(db.freshness).startsWith(`imported `) && db.importedFrom === export2
        );
      },
      15_000,
      '/status to show the new import',
    );
    const metrics = (await get(`${daemon.adminUrl}/metrics`)).body.toString();
    assert.match(metrics, /trivy_mirror_artifact_stale\{artifact="trivy-db",tag="2"\} 0/);
    assert.equal((await get(`${daemon.adminUrl}/readyz`)).status, 200);
    await eventually(
      async () => (await skopeoRaw(`docker://${internal.host}/trivy/trivy-db:2`)).digest === newDb,
      15_000,
      'the registry inside to get the new version',
    );
  });

  test('a served version with a blob gone is not ready, naming it; importing the export again repairs it', async () => {
    const layout = join(work.dir, 'inside', 'oci', 'trivy-java-db');
    const m = await getManifest(publicUrl, 'trivy-java-db', '1');
    const layer = JSON.parse(m.bytes.toString()).layers[0].digest as string;
    await rm(join(layout, 'blobs', 'sha256', layer.slice(7)));
    const notReady = await get(`${daemon.adminUrl}/readyz`);
    assert.equal(notReady.status, 503);
    assert.match(
      notReady.body.toString(),
      /blobs missing in the store: trivy-java-db:1 \(import the export again\)/,
    );
    const again = await insideImport(export2);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /imported trivy-java-db .* 1 copied/);
    assert.equal((await get(`${daemon.adminUrl}/readyz`)).status, 200);
  });

  test('an older export is not imported over a newer version unless --allow-older', async () => {
    const im = await insideImport(export1);
    assert.equal(im.code, 0, im.stderr);
    assert.match(
      im.stdout,
      /kept {5}trivy-db:2: the served version \(stored \S+\) is newer than the export's \(stored \S+\); --allow-older imports it anyway/,
    );
    assert.match(im.stdout, /kept {5}vex vexhub: the served index \(updated_at \S+\) is newer/);
    assert.equal(await servedDbDigest(), newDigests['trivy-db']);
    assert.ok((await get(`${publicUrl}/vex/vexhub/archive.zip`)).body.equals(newZip));
  });

  test('an import the daemon is not told about (--no-notify) is seen by its store watch and taken up too', async () => {
    const im = await runCli(['import', export1, '--config', insideConfig, '--no-notify', '--allow-older']);
    assert.equal(im.code, 0, im.stderr);
    assert.doesNotMatch(im.stdout, /told|no daemon/);
    const seededMeta = JSON.parse(
      first.artifacts.find((a) => a.name === 'trivy-db')!.artifact.metadataJson!.toString(),
    ) as Json;
    await eventually(
      async () => {
        const archive = await get(`${publicUrl}/vex/vexhub/archive.zip`);
        const meta = JSON.parse(await readFile(join(cacheDir, 'db', 'metadata.json'), 'utf8')) as Json;
        const idx = await readFile(
          join(cacheDir, 'vex', 'repositories', 'vexhub', '0.1', 'index.json'),
          'utf8',
        );
        return (
          archive.body.equals(connectedVex.archive) &&
          meta.UpdatedAt === seededMeta.UpdatedAt &&
          !idx.includes('trivy-mirror-e2e-extra')
        );
      },
      30_000,
      'the watch to take up the import (served VEX, cache dir)',
    );
    assert.equal(await servedDbDigest(), first.digests['trivy-db:2']);
    assert.ok(daemon.logs().some((l) => l.msg === 'store changed (an import); checking it'));
    assert.ok(daemon.logs().some((l) => l.msg === 'vex version imported; taking it up'));
  });
});

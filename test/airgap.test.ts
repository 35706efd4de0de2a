// End to end for the air-gapped site, Trivy's self-hosting guide's main scenario (sites set up by
// helpers/airgap-site.ts): the inside daemon, with no upstream and filled by `import`, serves /v2/
// (read by skopeo), VEX (rewritten to its publicUrl), a cache dir and its destination registry
// without one outbound connection; /status and /metrics say how fresh it is; hostile exports are
// refused naming the file while the served version stays.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { getStatus } from './helpers/admin-api.js';
import { describeAirGap, type Json } from './helpers/airgap-site.js';
import { leftovers, parseJsonOut } from './helpers/cache-suite.js';
import { runCli } from './helpers/daemon-process.js';
import { skopeoRaw } from './helpers/oci-e2e.js';
import { snapshotZipBytes } from './helpers/vex-variants.js';

describeAirGap('air gap: an inside daemon without upstream, filled by import (e2e)', 'airgap', (site) => {
  test('round trip: /readyz, skopeo reads the same manifest, cache dir, VEX rewritten, no outbound connection', async () => {
    const ready = await site.get(`${site.daemon.adminUrl}/readyz`);
    assert.equal(ready.status, 200, ready.body.toString());
    for (const [name, tag] of [
      ['trivy-db', '2'],
      ['trivy-java-db', '1'],
      ['trivy-checks', '2'],
    ]) {
      const want = await skopeoRaw(`oci:${join(site.connectedState, 'oci', name)}:${tag}`);
      // connected store now holds the newer db: compare with what export 1 carried
      const exported = await skopeoRaw(`oci:${join(site.export1, name)}:${tag}`);
      const got = await skopeoRaw(`docker://${site.publicUrl.slice(7)}/${name}:${tag}`);
      assert.ok(got.bytes.equals(exported.bytes), `${name}:${tag} byte-identical to the export`);
      if (name === 'trivy-checks') assert.equal(got.digest, want.digest);
    }
    assert.equal(await site.servedDbDigest(), site.first.digests['trivy-db:2']);
    // and pushed to the registry inside
    assert.equal(
      (await skopeoRaw(`docker://${site.internal.host}/trivy/trivy-db:2`)).digest,
      site.first.digests['trivy-db:2'],
    );

    // the cache dir holds every part, from the imported versions
    const meta = JSON.parse(await readFile(join(site.cacheDir, 'db', 'metadata.json'), 'utf8')) as Json;
    assert.equal(meta.UpdatedAt, site.firstDbUpdatedAt());
    assert.ok(meta.DownloadedAt, 'DownloadedAt set');
    await readFile(join(site.cacheDir, 'java-db', 'metadata.json'));
    await readFile(join(site.cacheDir, 'policy', 'metadata.json'));
    await readFile(join(site.cacheDir, 'vex', 'repositories', 'vexhub', 'cache.json'));

    // VEX: the connected side's manifest, its location rewritten to this site.daemon; the same archive bytes
    const m = await site.get(`${site.publicUrl}/.well-known/vex-repository.json`);
    assert.equal(m.status, 200);
    const served = JSON.parse(m.body.toString()) as { versions: { locations: { url: string }[] }[] };
    const location = served.versions[0].locations[0].url;
    assert.equal(location, `${site.publicUrl}/vex/vexhub/archive.zip//vexhub-main`);
    const upstreamManifest = structuredClone(site.connectedVex.manifest) as typeof served;
    upstreamManifest.versions[0].locations = [{ url: location }];
    assert.deepEqual(served, upstreamManifest);
    const archive = await site.get(location.replace(/\/\/vexhub-main$/, ''));
    assert.equal(archive.status, 200);
    assert.ok(archive.body.equals(site.connectedVex.archive), 'the archive is byte-identical');
    assert.ok(archive.body.equals(snapshotZipBytes()));

    // no outbound connection: the upstreams are gone and nothing tried them
    const out = site.daemon.stdout();
    for (const host of site.upstreamHosts) assert.ok(!out.includes(host), `no mention of ${host}`);
    const msgs = new Set(site.daemon.logs().map((l) => l.msg));
    for (const bad of [
      'source failed, trying the next one',
      'sync failed',
      'vex mirror failed; the previous version stays served',
    ])
      assert.ok(!msgs.has(bad), bad);
    const status = await getStatus(site.daemon);
    const components = status.components as Record<string, Json>;
    const artifacts = components['oci-sync'].artifacts as Record<string, Json>;
    for (const [key, a] of Object.entries(artifacts)) {
      assert.equal(a.upstream, 'none (import only)', key);
      assert.equal(a.source, `import ${site.export1}`, key);
      assert.equal(a.importedFrom, site.export1, key);
    }
    const repos = components['vexhub-mirror'].repositories as Record<string, Json>;
    assert.equal(repos.vexhub.source, 'import');
    assert.equal(repos.vexhub.importedFrom, site.export1);
  });

  test('/status says when and from where it was imported and how old it is; a stale store is a warning and a metric', async (t) => {
    const status = await getStatus(site.daemon);
    assert.equal(status.ready, true);
    const oci = (status.components as Record<string, Json>)['oci-sync'];
    const db = (oci.artifacts as Record<string, Json>)['trivy-db:2'];
    const freshness = String(db.freshness);
    assert.match(
      freshness,
      new RegExp(
        `^imported 20\\d\\d-\\S+ from ${site.export1.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, 4 days old, next expected 20\\d\\d-\\S+; STALE: NextUpdate was 3 days ago \\(staleAfterHours 24\\), import a newer export$`,
      ),
    );
    assert.equal(db.stale, true);
    assert.ok((oci.warnings as string[]).some((w) => w.startsWith('trivy-db:2: imported')));
    const checks = (oci.artifacts as Record<string, Json>)['trivy-checks:2'];
    assert.match(String(checks.freshness), /^imported \S+ from \S+$/);
    assert.equal(checks.stale, false);

    const metrics = (await site.get(`${site.daemon.adminUrl}/metrics`)).body.toString();
    assert.match(metrics, /trivy_mirror_artifact_stale\{artifact="trivy-db",tag="2"\} 1/);
    assert.match(metrics, /trivy_mirror_artifact_stale\{artifact="trivy-checks",tag="2"\} 0/);
    assert.match(
      metrics,
      /trivy_mirror_artifact_imported_timestamp_seconds\{artifact="trivy-db",tag="2"\} \d+/,
    );
    await site.daemon.waitForLog((l) => l.msg === 'stored version is stale');
    // the cache part is past NextUpdate too, but no sync is asked of a source that does not exist
    await site.daemon.waitForLog((l) => String(l.msg).startsWith('cache part past its NextUpdate'), 10_000);
    assert.ok(!site.daemon.logs().some((l) => l.msg === 'cache part stale; requesting a sync'));

    const cli = await runCli(['status', '--config', site.insideConfig]);
    // the verdict, as on the status page: STALE (exit 4) while something served is past its NextUpdate
    assert.equal(cli.code, 4, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /^trivy-mirror \S+ {2}STALE /);
    assert.match(cli.stdout, /^ {2}trivy-db:2: past its NextUpdate /m);
    for (const line of cli.stdout.split('\n').filter((l) => /^ {2}(trivy-|vex |warning)/.test(l)))
      t.diagnostic(line);
    assert.match(cli.stdout, /warning: trivy-db:2: imported .* STALE/);
    assert.match(cli.stdout, /vex vexhub .* imported \S+ from /);
  });

  test('populate --from-store EXPORT, no daemon: every part, VEX as `trivy vex repo download` leaves it; a tampered VEX archive changes nothing', async (t) => {
    const cacheDir = join(site.work.dir, 'populate-from-export');
    // a dry run plans the VEX part too: it checks and measures the archive in TMPDIR, writes nothing
    const tmp = join(site.work.dir, 'dry-run-tmp');
    await mkdir(tmp);
    const dry = await runCli(
      ['populate', '--cache-dir', cacheDir, '--from-store', site.export1, '--dry-run', '--json'],
      { env: { TMPDIR: tmp } },
    );
    assert.equal(dry.code, 0, dry.stderr + dry.stdout);
    const planned = parseJsonOut(dry.stdout).parts.find((p) => p.key === 'vex-vexhub');
    assert.equal(planned?.status, 'planned', dry.stdout);
    assert.ok((planned?.bytes ?? 0) > 100_000, `planned VEX bytes: ${planned?.bytes}`);
    await assert.rejects(readdir(cacheDir), { code: 'ENOENT' });
    // node's compile cache lives in the temp dir too; nothing of ours may stay there
    assert.deepEqual(
      (await readdir(tmp)).filter((f) => f !== 'node-compile-cache'),
      [],
    );

    const r = await runCli(['populate', '--cache-dir', cacheDir, '--from-store', site.export1, '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual(
      parseJsonOut(r.stdout).parts.map((p) => [p.key, p.status]),
      [
        ['db', 'populated'],
        ['java-db', 'populated'],
        ['checks', 'populated'],
        ['vex-vexhub', 'populated'],
      ],
    );
    const repo = join(cacheDir, 'vex', 'repositories', 'vexhub');
    const exported = join(site.export1, 'vex', 'vexhub');
    // the upstream manifest as the connected side fetched it, and the archive's index under 0.1/<subdir>
    const manifestBytes = await readFile(join(repo, 'vex-repository.json'));
    assert.ok(manifestBytes.equals(await readFile(join(exported, 'vex-repository.json'))));
    const record = JSON.parse(await readFile(join(exported, 'version.json'), 'utf8')) as Json;
    const index = JSON.parse(await readFile(join(repo, '0.1', 'index.json'), 'utf8')) as Json;
    assert.ok(Array.isArray(index.packages) && index.packages.length > 0, 'index.json lists packages');
    const cache = JSON.parse(await readFile(join(repo, 'cache.json'), 'utf8')) as {
      UpdatedAt: string;
      ETags: Record<string, string>;
    };
    const manifest = JSON.parse(manifestBytes.toString()) as { versions: { locations: { url: string }[] }[] };
    assert.deepEqual(cache.ETags, { [manifest.versions[0].locations[0].url]: `sha256:${record.version}` });
    assert.match(cache.UpdatedAt, /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(await leftovers(cacheDir), []);
    const dryAgain = await runCli([
      'populate',
      '--cache-dir',
      cacheDir,
      '--from-store',
      site.export1,
      '--dry-run',
      '--json',
    ]);
    assert.deepEqual(
      parseJsonOut(dryAgain.stdout).parts.map((p) => [p.key, p.status]),
      [
        ['db', 'unchanged'],
        ['java-db', 'unchanged'],
        ['checks', 'unchanged'],
        ['vex-vexhub', 'unchanged'],
      ],
    );

    // a flipped byte in the exported archive: refused naming it, the VEX part as it was, nothing left over
    const hostile = join(site.work.dir, 'populate-hostile-export');
    await cp(site.export1, hostile, { recursive: true });
    const archive = join(hostile, 'vex', 'vexhub', 'archive.zip');
    const bytes = await readFile(archive);
    bytes[bytes.length >> 1] ^= 0xff;
    await writeFile(archive, bytes);
    const cacheBefore = await readFile(join(repo, 'cache.json'));
    const bad = await runCli(['populate', '--cache-dir', cacheDir, '--from-store', hostile, '--only', 'vex']);
    t.diagnostic(bad.stderr.trim());
    assert.equal(bad.code, 1, bad.stdout);
    assert.ok(bad.stderr.includes(archive), bad.stderr);
    assert.match(bad.stderr, /tampered or damaged/);
    assert.ok((await readFile(join(repo, 'cache.json'))).equals(cacheBefore));
    assert.deepEqual(await leftovers(cacheDir), []);

    // a registry has no VEX to give
    const reg = await runCli([
      'populate',
      '--cache-dir',
      cacheDir,
      '--from-registry',
      'localhost:1/x',
      '--only',
      'vex',
    ]);
    assert.equal(reg.code, 1);
    assert.match(reg.stderr, /export/);
  });

  describe('hostile exports are refused, naming the file; the served version stays', () => {
    let n = 0;
    const copyExport = async () => {
      const dir = join(site.work.dir, `hostile-${++n}`);
      await cp(site.export2, dir, { recursive: true });
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
      const indexBefore = await readFile(join(site.work.dir, 'inside', 'oci', 'trivy-db', 'index.json'));
      const r = await site.importInside(dir);
      t.diagnostic(r.stderr.trim());
      assert.equal(r.code, 1, r.stdout);
      assert.ok(r.stderr.includes(file), `names ${file}: ${r.stderr}`);
      assert.match(r.stderr, why);
      assert.match(r.stderr, /ARCHIVE_INVALID|refused/);
      assert.ok(
        (await readFile(join(site.work.dir, 'inside', 'oci', 'trivy-db', 'index.json'))).equals(indexBefore),
      );
      assert.equal(await site.servedDbDigest(), site.first.digests['trivy-db:2']);
      const archive = await site.get(`${site.publicUrl}/vex/vexhub/archive.zip`);
      assert.ok(archive.body.equals(site.connectedVex.archive), 'the VEX archive served is the old one');
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
});

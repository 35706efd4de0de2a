// End to end for the air-gapped site, continued (sites set up by helpers/airgap-site.ts): a newer
// export imported into the running inside daemon is taken up (served, pushed, populated) with
// readers seeing the old or the new version, never a mix, keeping keepVersions; a served version
// with a blob gone is not ready; an older export is refused (no silent rollback) and nothing changes;
// with --allow-rollback an import the daemon is not told about is seen by its store watch.
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { getStatus } from './helpers/admin-api.js';
import { describeAirGap, type Json } from './helpers/airgap-site.js';
import { eventually } from './helpers/daemon-process.js';
import { getManifest, sha256, skopeoRaw } from './helpers/oci-e2e.js';

describeAirGap('air gap: re-import into a running inside daemon (e2e)', 'airgap-reimport', (site) => {
  test('re-import of a newer export into the running daemon: taken up, keepVersions kept, readers never see a mix', async () => {
    const oldDb = site.first.digests['trivy-db:2'];
    const newDb = site.newDigests['trivy-db'];
    const seen = { db: new Set<string>(), vex: new Set<string>(), problems: [] as string[] };
    const oldZipSha = sha256(site.connectedVex.archive);
    const newZipSha = sha256(site.newZip);
    let reading = true;
    const dbReader = (async () => {
      while (reading) {
        const m = await getManifest(site.publicUrl, 'trivy-db', '2');
        const digest = sha256(m.bytes);
        seen.db.add(digest);
        if (m.status !== 200 || (digest !== oldDb && digest !== newDb))
          seen.problems.push(`manifest ${digest}`);
        const layer = JSON.parse(m.bytes.toString()).layers[0] as { digest: string };
        const blob = await site.get(`${site.publicUrl}/v2/trivy-db/blobs/${layer.digest}`);
        if (blob.status !== 200 || sha256(blob.body) !== layer.digest)
          seen.problems.push(`blob ${layer.digest}`);
      }
    })();
    const vexReader = (async () => {
      while (reading) {
        const m = await site.get(`${site.publicUrl}/.well-known/vex-repository.json`);
        const url = (JSON.parse(m.body.toString()).versions[0].locations[0].url as string).replace(
          /\/\/vexhub-main$/,
          '',
        );
        const a = await site.get(url);
        const digest = sha256(a.body);
        seen.vex.add(digest);
        if (a.status !== 200 || (digest !== oldZipSha && digest !== newZipSha))
          seen.problems.push(`vex ${digest}`);
      }
    })();
    try {
      const im = await site.importInside(site.export2);
      assert.equal(im.code, 0, `${im.stdout}${im.stderr}`);
      assert.match(im.stdout, /told to take up the new versions \(oci-sync, vexhub-mirror runs started\)/);
      assert.equal(await site.servedDbDigest(), newDb);
      await eventually(
        async () => seen.vex.has(newZipSha) && seen.db.has(newDb),
        30_000,
        'readers to see the new versions',
      );
      await eventually(
        async () => {
          const meta = JSON.parse(await readFile(join(site.cacheDir, 'db', 'metadata.json'), 'utf8')) as Json;
          const idx = await readFile(
            join(site.cacheDir, 'vex', 'repositories', 'vexhub', '0.1', 'index.json'),
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
      await readFile(join(site.work.dir, 'inside', 'oci', 'trivy-db', 'index.json'), 'utf8'),
    ) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    assert.deepEqual(
      index.manifests.map((m) => m.digest),
      [newDb, oldDb],
    );
    assert.equal(index.manifests[0].annotations?.['io.github.trivy-mirror.imported-from'], site.export2);

    // fresh again: no warning, metric 0
    await eventually(
      async () => {
        const oci = ((await getStatus(site.daemon)).components as Record<string, Json>)['oci-sync'];
        const db = (oci.artifacts as Record<string, Json>)['trivy-db:2'];
        return (
          db.stale === false &&
          String(db.freshness).startsWith(`imported `) &&
          db.importedFrom === site.export2
        );
      },
      15_000,
      '/status to show the new import',
    );
    const metrics = (await site.get(`${site.daemon.adminUrl}/metrics`)).body.toString();
    assert.match(metrics, /trivy_mirror_artifact_stale\{artifact="trivy-db",tag="2"\} 0/);
    assert.equal((await site.get(`${site.daemon.adminUrl}/readyz`)).status, 200);
    await eventually(
      async () => (await skopeoRaw(`docker://${site.internal.host}/trivy/trivy-db:2`)).digest === newDb,
      15_000,
      'the registry inside to get the new version',
    );
  });

  test('a served version with a blob gone is not ready, naming it; importing the export again repairs it', async () => {
    const layout = join(site.work.dir, 'inside', 'oci', 'trivy-java-db');
    const m = await getManifest(site.publicUrl, 'trivy-java-db', '1');
    const layer = JSON.parse(m.bytes.toString()).layers[0].digest as string;
    await rm(join(layout, 'blobs', 'sha256', layer.slice(7)));
    const notReady = await site.get(`${site.daemon.adminUrl}/readyz`);
    assert.equal(notReady.status, 503);
    assert.match(
      notReady.body.toString(),
      /damaged in the store: trivy-java-db:1 \(version sha256:[a-f0-9]{64}: layer sha256:[a-f0-9]{64} missing from the store.*import an export that holds trivy-java-db:1@sha256:[a-f0-9]{64}/,
    );
    const again = await site.importInside(site.export2);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /imported trivy-java-db .* 1 copied/);
    assert.equal((await site.get(`${site.daemon.adminUrl}/readyz`)).status, 200);
  });

  test('an older export is refused, naming both versions of each tag and the flag; nothing changes', async () => {
    const layouts = join(site.work.dir, 'inside', 'oci');
    const indexes = async () =>
      Promise.all(
        ['trivy-db', 'trivy-java-db', 'trivy-checks'].map((r) =>
          readFile(join(layouts, r, 'index.json'), 'utf8'),
        ),
      );
    const vexCurrent = () =>
      readFile(
        join(site.insideState, 'plugins', 'vexhub-mirror', 'repositories', 'vexhub', 'current.json'),
        'utf8',
      );
    const [before, vexBefore] = [await indexes(), await vexCurrent()];
    const im = await site.importInside(site.export1);
    assert.equal(im.code, 1, `${im.stdout}${im.stderr}`);
    assert.equal(im.stdout, '', 'nothing reported as imported');
    const newDb = site.newDigests['trivy-db'];
    assert.ok(
      im.stderr.includes(
        `import of ${site.export1} refused, nothing changed: rollback: trivy-db:2: the export's ${site.first.digests['trivy-db:2']} (UpdatedAt ${site.firstDbUpdatedAt()}) is older than the served ${newDb} (UpdatedAt `,
      ),
      im.stderr,
    );
    assert.match(
      im.stderr,
      /trivy-java-db:1: the export's sha256:[a-f0-9]{64} \(UpdatedAt \S+\) is older than the served/,
    );
    assert.match(
      im.stderr,
      /vex vexhub: the export's sha256:[a-f0-9]{64} \(updated_at \S+\) is older than the served sha256:[a-f0-9]{64} \(updated_at \S+\)/,
    );
    assert.match(im.stderr, /pass --allow-rollback to import the older versions anyway/);
    assert.deepEqual(await indexes(), before);
    assert.equal(await vexCurrent(), vexBefore);
    assert.equal(await site.servedDbDigest(), newDb);
    assert.ok((await site.get(`${site.publicUrl}/vex/vexhub/archive.zip`)).body.equals(site.newZip));
  });

  test('--allow-rollback imports the older export; not told (--no-notify), the store watch of the daemon takes it up', async () => {
    const im = await site.importInside(site.export1, '--no-notify', '--allow-rollback');
    assert.equal(im.code, 0, im.stderr);
    assert.doesNotMatch(im.stdout, /told|no daemon/);
    await eventually(
      async () => {
        const archive = await site.get(`${site.publicUrl}/vex/vexhub/archive.zip`);
        const meta = JSON.parse(await readFile(join(site.cacheDir, 'db', 'metadata.json'), 'utf8')) as Json;
        const idx = await readFile(
          join(site.cacheDir, 'vex', 'repositories', 'vexhub', '0.1', 'index.json'),
          'utf8',
        );
        return (
          archive.body.equals(site.connectedVex.archive) &&
          meta.UpdatedAt === site.firstDbUpdatedAt() &&
          !idx.includes('trivy-mirror-e2e-extra')
        );
      },
      30_000,
      'the watch to take up the import (served VEX, cache dir)',
    );
    assert.equal(await site.servedDbDigest(), site.first.digests['trivy-db:2']);
    assert.ok(site.daemon.logs().some((l) => l.msg === 'store changed (an import); checking it'));
    assert.ok(site.daemon.logs().some((l) => l.msg === 'vex version imported; taking it up'));
  });
});

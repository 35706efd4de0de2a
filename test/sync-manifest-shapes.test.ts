// End to end: which upstream manifests oci-sync takes, through the built CLI against real
// docker-registry instances: the legacy shape byte-identically; an invalid artifact fails the sync
// naming the rule and stores nothing (set-up: helpers/sync-suite.ts).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type GeneratedArtifact, pushArtifact, seedUpstream } from '@trivy-mirror/fixtures';
import { freePort, runCli } from './helpers/daemon-process.js';
import { ARTIFACT_TAGS, writeMirrorConfig } from './helpers/mirror-config.js';
import { getManifest, sha256, skopeoRaw } from './helpers/oci-e2e.js';
import { type SyncSuite, startSyncSuite } from './helpers/sync-suite.js';
import { listTree } from './helpers/tree-snapshot.js';

const MiB = 1024 * 1024;

describe('trivy-mirror sync (e2e)', { timeout: 240_000 }, () => {
  let sync: SyncSuite;
  before(async () => (sync = await startSyncSuite('sync-shapes')));
  after(() => sync?.stop());

  test('the legacy manifest shape syncs byte-identically too', async () => {
    const legacy = await seedUpstream({
      registryUrl: sync.upstream.url,
      prefix: 'legacy',
      workDir: join(sync.work.dir, 'seed-legacy'),
      dbBytes: 1 * MiB,
      javaDbBytes: 1 * MiB,
      shape: 'legacy',
      seed: 'sync-e2e-legacy',
    });
    const state = join(sync.work.dir, 'state-legacy');
    const cfg = await writeMirrorConfig(join(sync.work.dir, 'legacy.yaml'), {
      stateDir: state,
      sources: [`${sync.upstream.host}/legacy`],
      destinations: [`${sync.dst2.host}/legacy-mirror`],
      adminPort: await freePort(),
    });
    const r = await runCli(['sync', '--config', cfg, '--only', 'oci-sync']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const nameTag of ARTIFACT_TAGS) {
      const [name, tag] = nameTag.split(':') as [string, string];
      const want = legacy.digests[nameTag];
      const manifest = JSON.parse(
        (await skopeoRaw(`oci:${join(state, 'oci', name)}:${tag}`)).bytes.toString(),
      );
      assert.equal(manifest.artifactType, undefined, `${nameTag} is the legacy shape`);
      assert.equal((await skopeoRaw(`oci:${join(state, 'oci', name)}:${tag}`)).digest, want, nameTag);
      assert.equal(
        (await skopeoRaw(`docker://${sync.dst2.host}/legacy-mirror/${nameTag}`)).digest,
        want,
        nameTag,
      );
    }
  });

  test('an invalid upstream artifact fails the sync, names the rule and stores nothing', async (t) => {
    // two layers, one of them of the wrong media type: Trivy would refuse it
    const good = sync.seeded.artifacts.find((a) => a.name === 'trivy-db')!.artifact;
    const manifest = JSON.parse(good.manifestBytes.toString()) as { layers: Record<string, unknown>[] };
    manifest.layers.push({ ...manifest.layers[0], mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
    const bytes = Buffer.from(JSON.stringify(manifest));
    const bad: GeneratedArtifact = { ...good, manifestBytes: bytes, manifestDigest: sha256(bytes) };
    await pushArtifact(sync.upstream.url, 'bad/trivy-db', '2', bad);
    // one layer, but the trivy-db layer media type under the java-db name
    const java = sync.seeded.artifacts.find((a) => a.name === 'trivy-java-db')!.artifact;
    const javaManifest = JSON.parse(java.manifestBytes.toString()) as { layers: { mediaType: string }[] };
    javaManifest.layers[0]!.mediaType = 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip';
    const javaBytes = Buffer.from(JSON.stringify(javaManifest));
    await pushArtifact(sync.upstream.url, 'bad/trivy-java-db', '1', {
      ...java,
      manifestBytes: javaBytes,
      manifestDigest: sha256(javaBytes),
    });

    const stateBad = join(sync.work.dir, 'state-bad');
    const cfg = await writeMirrorConfig(join(sync.work.dir, 'bad.yaml'), {
      stateDir: stateBad,
      sources: [`${sync.upstream.host}/bad`],
      destinations: [`${sync.dst1.host}/from-bad`],
      artifacts: [
        { name: 'trivy-db', tags: ['2'] },
        { name: 'trivy-java-db', tags: ['1'] },
      ],
      adminPort: await freePort(),
    });
    const r = await runCli(['sync', '--config', cfg, '--only', 'oci-sync']);
    t.diagnostic(`${r.stdout.trim()}\n${r.stderr.trim()}`);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /^failure\s+oci-sync/m);
    assert.match(r.stdout, /trivy-db:2.*exactly one layer required, found 2/);
    assert.match(
      r.stdout,
      /trivy-java-db:1.*layer media type must be application\/vnd\.aquasec\.trivy\.javadb\.layer\.v1\.tar\+gzip/,
    );
    assert.deepEqual(
      (await listTree(join(stateBad, 'oci'))).filter((f) => f.includes('blobs/')),
      [],
      'no blob in the store',
    );
    assert.equal((await getManifest(sync.dst1.url, 'from-bad/trivy-db', '2')).status, 404);
    assert.equal((await getManifest(sync.dst1.url, 'from-bad/trivy-java-db', '1')).status, 404);
  });
});

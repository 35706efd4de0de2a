// End to end: export and import for air gaps through the built CLI: an import gives the store's tagged
// digests; a tampered export is refused naming the blob and changes nothing (set-up:
// helpers/sync-suite.ts).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, runCli } from './helpers/daemon-process.js';
import { ARTIFACT_TAGS, writeMirrorConfig } from './helpers/mirror-config.js';
import { skopeoRaw } from './helpers/oci-e2e.js';
import { type SyncSuite, startSyncSuite, syncMainWithHistory } from './helpers/sync-suite.js';
import { listTree } from './helpers/tree-snapshot.js';

/** What an export holds: a layout per repository, the VEX versions and the list of their digests. */
const EXPORT_ENTRY =
  /^(trivy-[a-z-]+(\/(oci-layout|index\.json|blobs(\/sha256(\/[a-f0-9]{64})?)?))?|vex(\/vexhub(\/(archive\.(zip|tar\.gz)|vex-repository\.json|version\.json))?|\/SHA256SUMS)?)$/;

describe('trivy-mirror sync (e2e)', { timeout: 240_000 }, () => {
  let sync: SyncSuite;
  before(async () => {
    sync = await startSyncSuite('sync-export');
    await syncMainWithHistory(sync);
  });
  after(() => sync?.stop());

  test('export then import gives the same digests; a tampered export is refused and changes nothing', async (t) => {
    const out = join(sync.work.dir, 'export');
    const ex = await runCli(['export', '--out', out, '--config', sync.mainConfig]);
    assert.equal(ex.code, 0, ex.stderr);
    // the layouts and the VEX version, nothing of how they were written (no empty .tmp/ folders)
    const stray = (await readdir(out, { recursive: true })).filter((p) => !EXPORT_ENTRY.test(p));
    assert.deepEqual(stray, [], `the export holds ${stray.join(', ')}`);
    assert.ok(existsSync(join(out, 'vex', 'vexhub', 'version.json')), 'the VEX version is exported');

    const otherState = join(sync.work.dir, 'state-imported');
    const otherCfg = await writeMirrorConfig(join(sync.work.dir, 'imported.yaml'), {
      stateDir: otherState,
      sources: [`${sync.upstream.host}/aquasec`],
      adminPort: await freePort(),
    });
    const im = await runCli(['import', out, '--config', otherCfg]);
    assert.equal(im.code, 0, im.stderr);
    const repos = (await readdir(join(sync.mainState, 'oci'))).filter((n) => !n.startsWith('.')).sort();
    assert.deepEqual(
      repos.filter((r) => r.startsWith('trivy-')),
      ['trivy-checks', 'trivy-db', 'trivy-java-db'],
    );
    // import takes the tagged (current) versions; the connected side's history stays there
    type Entry = { digest: string; annotations?: Record<string, string> };
    const taggedDigests = async (state: string, repo: string) =>
      (JSON.parse(await readFile(join(state, 'oci', repo, 'index.json'), 'utf8')).manifests as Entry[])
        .filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== undefined)
        .map((m) => m.digest)
        .sort();
    for (const repo of repos) {
      assert.deepEqual(
        await taggedDigests(otherState, repo),
        await taggedDigests(sync.mainState, repo),
        repo,
      );
    }
    for (const nameTag of ARTIFACT_TAGS) {
      const [name, tag] = nameTag.split(':') as [string, string];
      const want = (await skopeoRaw(`oci:${join(sync.mainState, 'oci', name)}:${tag}`)).digest;
      assert.equal((await skopeoRaw(`oci:${join(otherState, 'oci', name)}:${tag}`)).digest, want, nameTag);
    }

    // flip one byte of the current trivy-db layer in the export
    const exported = join(out, 'trivy-db');
    const index = JSON.parse(await readFile(join(exported, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    const tagged = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === '2')!;
    const dbManifest = JSON.parse(
      await readFile(join(exported, 'blobs', 'sha256', tagged.digest.slice(7)), 'utf8'),
    ) as { layers: { digest: string }[] };
    const layerDigest = dbManifest.layers[0]!.digest;
    const blobPath = join(exported, 'blobs', 'sha256', layerDigest.slice(7));
    const blob = await readFile(blobPath);
    blob[blob.length >> 1] = (blob[blob.length >> 1] ?? 0) ^ 0xff;
    await writeFile(blobPath, blob);

    const emptyState = join(sync.work.dir, 'state-tampered');
    const emptyCfg = await writeMirrorConfig(join(sync.work.dir, 'tampered.yaml'), {
      stateDir: emptyState,
      sources: [`${sync.upstream.host}/aquasec`],
      adminPort: await freePort(),
    });
    const beforeTree = await listTree(emptyState);
    const bad = await runCli(['import', out, '--config', emptyCfg]);
    t.diagnostic(bad.stderr.trim());
    assert.equal(bad.code, 1, bad.stdout);
    assert.ok(bad.stderr.includes(layerDigest), `names the blob: ${bad.stderr}`);
    assert.match(bad.stderr, /digest|hash/i);
    assert.deepEqual(await listTree(emptyState), beforeTree, 'the empty store stays empty');
  });
});

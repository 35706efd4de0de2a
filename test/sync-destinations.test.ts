// End to end: oci-sync through the built CLI against real Debian docker-registry instances: upstream →
// store → two destinations byte-identically, and a second sync that moves nothing (set-up:
// helpers/sync-suite.ts).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from './helpers/daemon-process.js';
import { ARTIFACT_TAGS } from './helpers/mirror-config.js';
import { sha256, skopeoRaw } from './helpers/oci-e2e.js';
import { type SyncSuite, startSyncSuite } from './helpers/sync-suite.js';

describe('trivy-mirror sync (e2e)', { timeout: 240_000 }, () => {
  let sync: SyncSuite;
  before(async () => (sync = await startSyncSuite('sync-destinations')));
  after(() => sync?.stop());

  test('sync copies every artifact into the store and two destinations byte-identically', async (t) => {
    const r = await runCli(['sync', '--config', sync.mainConfig]);
    t.diagnostic(r.stdout.trim());
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const nameTag of ARTIFACT_TAGS) {
      const [name, tag] = nameTag.split(':') as [string, string];
      const want = sync.seeded.digests[nameTag];
      // a summary line per artifact
      assert.match(
        r.stdout,
        new RegExp(`^\\s+${nameTag}\\s+updated\\s+${want?.slice(0, 19)}.*pushed to 2 destination`, 'm'),
        `summary line for ${nameTag}`,
      );
      const up = await skopeoRaw(`docker://${sync.upstream.host}/aquasec/${nameTag}`);
      assert.equal(up.digest, want);
      for (const ref of [
        `${sync.dst1.host}/mirror/${nameTag}`,
        `${sync.dst2.host}/trivy/internal/${nameTag}`,
      ]) {
        const got = await skopeoRaw(`docker://${ref}`);
        assert.equal(got.digest, want, ref);
        assert.deepEqual(got.bytes, up.bytes);
      }
      const stored = await skopeoRaw(`oci:${join(sync.mainState, 'oci', name)}:${tag}`);
      assert.equal(stored.digest, want, `store ${nameTag}`);
    }
    // the layer blob in the store is the upstream's, byte for byte
    const db = sync.seeded.artifacts.find((a) => a.name === 'trivy-db')!;
    const blob = await readFile(
      join(sync.mainState, 'oci', 'trivy-db', 'blobs', 'sha256', db.layerDigest.slice(7)),
    );
    assert.equal(sha256(blob), db.layerDigest);
  });

  test('a second sync moves no blob', async (t) => {
    const before = sync.counting.log.length;
    const r = await runCli(['sync', '--config', sync.mainConfig, '--only', 'oci-sync']);
    t.diagnostic(r.stdout.trim());
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /skipped\s+oci-sync/);
    assert.match(r.stdout, /4 artifact tags up to date/);
    for (const nameTag of ARTIFACT_TAGS) {
      assert.match(
        r.stdout,
        new RegExp(`^\\s+${nameTag}\\s+up to date\\s+sha256:.*0 B moved$`, 'm'),
        nameTag,
      );
    }
    const blobGets = sync.counting.log
      .slice(before)
      .filter((e) => e.method === 'GET' && e.path.includes('/blobs/'));
    assert.deepEqual(blobGets, [], 'no upstream blob was downloaded');
    // nothing was pushed either: the destinations' upload endpoints were not used (HEADs only)
    assert.doesNotMatch(r.stdout, /\d+ pushed/);
  });
});

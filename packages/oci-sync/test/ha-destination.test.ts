// An HA peer that is behind (its upstream still serves an older version) never moves the shared
// destination's tag back, and does not call the peer's push a failure; the daemon's publisher
// writes the registry tree after each stored version.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateArtifact, pushArtifact, type RunningRegistry, startRegistry } from '@trivy-mirror/fixtures';
import { parseReference } from '@trivy-mirror/oci';
import { LifecycleContribution } from '@trivy-mirror/plugin-api';
import { RegistryTreePublisher } from '../src/index.js';
import { createHarness, type Harness, sha256 } from './sync-harness.js';

describe('oci-sync HA peers on one destination', () => {
  let work: string;
  let upNew: RunningRegistry;
  let upOld: RunningRegistry;
  let dest: RunningRegistry;
  let ahead: Harness;
  let behind: Harness;
  let newDigest: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'oci-sync-ha-'));
    [upNew, upOld, dest] = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
    const at = (iso: string, seed: string) =>
      generateArtifact({
        kind: 'trivy-db',
        dbBytes: 128 * 1024,
        seed,
        updatedAt: new Date(iso),
        workDir: join(work, seed),
      });
    const older = await at('2026-11-25T00:00:00Z', 'old');
    const newer = await at('2026-11-25T06:00:00Z', 'new');
    newDigest = newer.manifestDigest;
    await pushArtifact(upOld.url, 'aquasec/trivy-db', '2', older);
    await pushArtifact(upNew.url, 'aquasec/trivy-db', '2', newer);
    const common = { artifacts: [{ name: 'trivy-db', tags: ['2'] }], destinations: [`${dest.host}/mirror`] };
    ahead = await createHarness(join(work, 'ahead'), {
      ...common,
      sources: [`${upNew.host}/aquasec`],
      publishRegistryDir: join(work, 'tree'),
    });
    behind = await createHarness(join(work, 'behind'), { ...common, sources: [`${upOld.host}/aquasec`] });
  });

  after(async () => {
    await ahead?.close();
    await behind?.close();
    await Promise.all([upNew?.stop(), upOld?.stop(), dest?.stop()]);
    await rm(work, { recursive: true, force: true });
  });

  test('the peer that is behind leaves the newer, complete version in place', async () => {
    const publisher = ahead.container
      .getAll<LifecycleContribution>(LifecycleContribution)
      .find((l): l is RegistryTreePublisher => l instanceof RegistryTreePublisher);
    assert.ok(publisher, 'publishRegistryDir binds the publisher');
    await publisher.start();
    assert.notEqual((await ahead.run()).status, 'failure');
    await publisher.request();
    await publisher.stop();
    const tree = await readFile(join(work, 'tree/v2/trivy-db/manifests/2'));
    assert.equal(sha256(tree), newDigest, 'the tree serves the stored version');

    const outcome = await behind.run();
    assert.notEqual(outcome.status, 'failure', outcome.summary);
    const head = await behind.client.manifestHead(parseReference(`${dest.host}/mirror/trivy-db:2`));
    assert.equal(head?.digest, newDigest, 'the tag was not moved back');
    assert.ok(behind.logs.some((l) => l.includes('destination holds a newer version from another writer')));
  });
});

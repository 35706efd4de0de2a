// metadata.json of a new db version is read by its version check, before the tag moves (a Version Trivy
// would refuse is refused there); a record stored without it (by an older release, or pending when a
// stop came) is read after a run, from the store, once.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type GeneratedArtifact,
  generateArtifact,
  pushArtifact,
  type RunningRegistry,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { createHarness, type Harness } from './sync-harness.js';

const UPDATED_AT = '2026-11-21T06:00:00Z';
const NEXT_UPDATE = '2026-11-22T06:00:00Z';

describe('oci-sync metadata.json after the run', () => {
  let work: string;
  let upstream: RunningRegistry;
  let javaDb: GeneratedArtifact;
  const harnesses: Harness[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'oci-sync-metadata-'));
    upstream = await startRegistry();
    javaDb = await generateArtifact({
      kind: 'trivy-java-db',
      dbBytes: 1024 * 1024,
      seed: 'metadata-follow-up',
      updatedAt: new Date(UPDATED_AT),
      nextUpdate: new Date(NEXT_UPDATE),
      workDir: join(work, 'gen'),
    });
    await pushArtifact(upstream.url, 'aquasec/trivy-java-db', '1', javaDb);
  });

  after(async () => {
    for (const h of harnesses) await h.close();
    await upstream?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const harness = async (stateDir: string) => {
    const h = await createHarness(stateDir, {
      sources: [`${upstream.host}/aquasec`],
      artifacts: [{ name: 'trivy-java-db', tags: ['1'] }],
    });
    harnesses.push(h);
    return h;
  };
  const savedStatus = async (stateDir: string) =>
    (
      JSON.parse(await readFile(join(stateDir, 'plugins/oci-sync/state.json'), 'utf8')) as {
        artifacts: Record<string, Record<string, unknown>>;
      }
    ).artifacts['trivy-java-db:1'];
  const reads = (h: Harness) => h.logs.filter((l) => l.includes('metadata.json read from the store')).length;

  test('the version check records the times; a record without them is read once after a run', async () => {
    const stateDir = join(work, 'state');
    const first = await harness(stateDir);
    const outcome = await first.run();
    assert.equal(outcome.status, 'success', outcome.summary);
    await first.stop();
    let saved = await savedStatus(stateDir);
    assert.equal(saved.layerDigest, javaDb.layer.digest);
    assert.equal(saved.updatedAt, UPDATED_AT);
    assert.equal(saved.metadataRead, javaDb.layer.digest);
    assert.equal(reads(first), 0, 'no second read of the layer');

    // A record as an older release left it: the version stored, its times not read yet.
    const file = join(stateDir, 'plugins/oci-sync/state.json');
    const state = JSON.parse(await readFile(file, 'utf8'));
    const record = state.artifacts['trivy-java-db:1'];
    delete record.updatedAt;
    delete record.nextUpdate;
    delete record.metadataRead;
    await writeFile(file, JSON.stringify(state));

    const second = await harness(stateDir);
    assert.equal((await second.run()).status, 'skipped', 'upstream unchanged');
    await second.metadataRead();
    saved = await savedStatus(stateDir);
    assert.equal(saved.updatedAt, UPDATED_AT);
    assert.equal(saved.nextUpdate, NEXT_UPDATE);
    assert.equal(saved.metadataRead, javaDb.layer.digest);
    assert.equal(reads(second), 1);
    assert.match(
      await second.metrics.metrics(),
      /trivy_mirror_artifact_updated_timestamp_seconds\{artifact="trivy-java-db",tag="1"\} 1795240800/,
    );

    // read once per layer: another run of the same version inflates nothing
    await second.run();
    await second.metadataRead();
    assert.equal(reads(second), 1);
  });

  test('a version whose metadata.json Version Trivy would refuse is refused; the stored one stays', async () => {
    const stateDir = join(work, 'state-refuse');
    const h = await harness(stateDir);
    assert.equal((await h.run()).status, 'success');
    const bad = await generateArtifact({
      kind: 'trivy-java-db',
      dbBytes: 64 * 1024,
      seed: 'metadata-version-2',
      metadataVersion: 2,
      workDir: join(work, 'gen-bad'),
    });
    await pushArtifact(upstream.url, 'aquasec/trivy-java-db', '1', bad);
    try {
      await assert.rejects(h.run(), (err: Error) => {
        assert.match(
          err.message,
          /metadata\.json has Version 2, but Trivy expects 1 for trivy-java-db; refused/,
        );
        return true;
      });
      const saved = await savedStatus(stateDir);
      assert.equal(saved.manifestDigest, javaDb.manifestDigest, 'the good version is still the stored one');
    } finally {
      await pushArtifact(upstream.url, 'aquasec/trivy-java-db', '1', javaDb);
    }
  });
});

// metadata.json is read after a run, from the store: a stop before that read leaves the record
// pending in state.json (no age, no times of the previous layer), and the next run reads it once.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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

  test('a stop abandons the read; the next run reads it once', async () => {
    const stateDir = join(work, 'state');
    const first = await harness(stateDir);
    const outcome = await first.run();
    assert.equal(outcome.status, 'success', outcome.summary);
    // stopped before the background read began: the version is recorded, its times are not
    await first.stop();
    let saved = await savedStatus(stateDir);
    assert.equal(saved.layerDigest, javaDb.layer.digest);
    assert.equal(saved.updatedAt, undefined);
    assert.equal(saved.metadataRead, undefined);
    assert.equal(reads(first), 0);

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
});

// planRebuiltIndex: which version each tag gets when index.json is rebuilt from the blobs alone.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { Annotation, type ImageManifest, MediaType } from '@trivy-mirror/oci';
import { planRebuiltIndex, type RebuildCandidate } from '../src/store/index-rebuild.js';
import { TAG_ANNOTATION } from '../src/store/store-versions.js';

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

function candidate(
  kind: 'db' | 'checks',
  name: string,
  created: string,
  options: { version?: string; complete?: boolean } = {},
): RebuildCandidate {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciEmpty, digest: sha('{}'), size: 2 },
    layers: [
      {
        mediaType: kind === 'db' ? MediaType.TrivyDbLayer : MediaType.OpaLayer,
        digest: sha(`layer-${name}`),
        size: 10,
        annotations: { [Annotation.Title]: kind === 'db' ? 'db.tar.gz' : 'bundle.tar.gz' },
      },
    ],
    annotations: {
      [Annotation.Created]: created,
      ...(options.version ? { [Annotation.Version]: options.version } : {}),
    },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return {
    descriptor: { mediaType: MediaType.OciManifest, digest: sha(name), size: bytes.length },
    bytes,
    manifest,
    mtimeMs: 0,
    complete: options.complete ?? true,
  };
}

const tagOf = (m: { annotations?: Record<string, string> }) => m.annotations?.[Annotation.RefName];

test('trivy-db: the newest complete version is tagged, older ones become history up to keepVersions', () => {
  const a = candidate('db', 'a', '2026-01-01T00:00:00Z');
  const b = candidate('db', 'b', '2026-01-02T00:00:00Z');
  const c = candidate('db', 'c', '2026-01-03T00:00:00Z');
  const broken = candidate('db', 'd', '2026-01-04T00:00:00Z', { complete: false });
  const plan = planRebuiltIndex({
    artifact: 'trivy-db',
    tags: ['2'],
    keepVersions: 2,
    known: {},
    candidates: [c, broken, a, b],
  });
  assert.deepEqual(plan.tags, { '2': c.descriptor.digest });
  assert.deepEqual(
    plan.manifests.map((m) => [m.digest, tagOf(m), m.annotations?.[TAG_ANNOTATION]]),
    [
      [c.descriptor.digest, '2', '2'],
      [b.descriptor.digest, undefined, '2'],
    ],
  );
});

test('the digest the last run recorded wins, complete or not (the sync then fetches what it lacks)', () => {
  const old = candidate('db', 'old', '2026-01-01T00:00:00Z', { complete: false });
  const newer = candidate('db', 'new', '2026-01-05T00:00:00Z');
  const plan = planRebuiltIndex({
    artifact: 'trivy-db',
    tags: ['2'],
    keepVersions: 3,
    known: { '2': old.descriptor.digest },
    candidates: [old, newer],
  });
  assert.equal(plan.tags['2'], old.descriptor.digest);
});

test('trivy-checks: :2 by its version annotation, :1 the unannotated bundle; nothing else is guessed', () => {
  const one = candidate('checks', 'one', '2026-01-01T00:00:00Z');
  const two = candidate('checks', 'two', '2026-01-02T00:00:00Z', { version: '2.1.0' });
  const twoOld = candidate('checks', 'two-old', '2025-12-01T00:00:00Z', { version: '2.0.0' });
  const notTrivy = { ...candidate('db', 'x', '2026-01-09T00:00:00Z') };
  const plan = planRebuiltIndex({
    artifact: 'trivy-checks',
    tags: ['1', '2'],
    keepVersions: 3,
    known: {},
    candidates: [one, two, twoOld, notTrivy],
  });
  assert.deepEqual(plan.tags, { '1': one.descriptor.digest, '2': two.descriptor.digest });
  const history = plan.manifests.filter((m) => tagOf(m) === undefined);
  assert.deepEqual(
    history.map((m) => [m.digest, m.annotations?.[TAG_ANNOTATION]]),
    [[twoOld.descriptor.digest, '2']],
  );
});

test('no candidate for a tag: the tag is left out (the sync stores it again)', () => {
  const plan = planRebuiltIndex({
    artifact: 'trivy-db',
    tags: ['2'],
    keepVersions: 3,
    known: {},
    candidates: [candidate('db', 'gone', '2026-01-01T00:00:00Z', { complete: false })],
  });
  assert.deepEqual(plan, { manifests: [], tags: {} });
});

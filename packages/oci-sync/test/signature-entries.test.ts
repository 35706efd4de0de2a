// Signature entries (`sha256-<hex>.sig` tags) in a layout's index: replaced rather than kept as history,
// and dropped with the version they sign (keepVersions, store prune), whatever order an import brings.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Annotation, type Descriptor, MediaType, signatureTag } from '@trivy-mirror/oci';
import { mergeImported } from '../src/store-commands/import-merge.js';
import { planPrune } from '../src/store-commands/store-prune.js';
import { planTagUpdate } from '../src/store/store-versions.js';

const d = (c: string): Descriptor => ({
  mediaType: MediaType.OciManifest,
  digest: `sha256:${c.repeat(64)}`,
  size: 1,
});
const tagsOf = (manifests: Descriptor[]) => manifests.map((m) => m.annotations?.[Annotation.RefName] ?? '-');

describe('signature entries', () => {
  const v1 = d('1');
  const v2 = d('2');
  const sig1 = d('a');
  const sig1b = d('b');
  const sig2 = d('c');

  test('a signature tag keeps no history; a version dropped by keepVersions takes its signature', () => {
    let m = planTagUpdate([], v1, '2', 't1', 2).manifests;
    m = planTagUpdate(m, sig1, signatureTag(v1.digest), 't1', 2).manifests;
    m = planTagUpdate(m, sig1b, signatureTag(v1.digest), 't2', 2).manifests;
    assert.deepEqual(
      m.map((x) => x.digest),
      [v1.digest, sig1b.digest],
      'the re-signed artifact replaced the old one',
    );
    m = planTagUpdate(m, v2, '2', 't3', 2).manifests;
    m = planTagUpdate(m, sig2, signatureTag(v2.digest), 't3', 2).manifests;
    assert.equal(m.length, 4, 'v1 is history, its signature stays');
    const next = planTagUpdate(m, d('3'), '2', 't4', 2);
    assert.ok(next.dropped.some((x) => x.digest === v1.digest));
    assert.ok(
      next.dropped.some((x) => x.digest === sig1b.digest),
      'the signature of v1 left with it',
    );
    assert.ok(next.manifests.some((x) => x.digest === sig2.digest));
  });

  test('store prune drops the signatures of the versions it drops', () => {
    let m = planTagUpdate([], v1, '2', 't1', 5).manifests;
    m = planTagUpdate(m, sig1, signatureTag(v1.digest), 't1', 5).manifests;
    m = planTagUpdate(m, v2, '2', 't2', 5).manifests;
    m = planTagUpdate(m, sig2, signatureTag(v2.digest), 't2', 5).manifests;
    const plan = planPrune(m, 1);
    assert.deepEqual(plan.dropped.map((x) => x.digest).sort(), [v1.digest, sig1.digest].sort());
    assert.deepEqual(tagsOf(plan.kept).sort(), ['2', signatureTag(v2.digest)].sort());
  });

  test('an import that lists a signature before its artifact keeps both', () => {
    const tagged = (x: Descriptor, tag: string): Descriptor => ({
      ...x,
      annotations: { [Annotation.RefName]: tag },
    });
    const merged = mergeImported([], [tagged(sig1, signatureTag(v1.digest)), tagged(v1, '2')], {
      keepVersions: 3,
      importedAt: 't',
      importedFrom: '/x',
    });
    assert.deepEqual(tagsOf(merged.manifests).sort(), ['2', signatureTag(v1.digest)].sort());
  });
});

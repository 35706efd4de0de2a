// How imported tags enter the store's index: current with the import record, history up to
// keepVersions; whether an older export may replace a newer one is import-rollback.ts's decision.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Descriptor } from '@trivy-mirror/oci';
import { mergeImported } from '../src/store-commands/import-merge.js';

const REF = 'org.opencontainers.image.ref.name';
const entry = (n: number, tag: string, storedAt: string): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${String(n).padStart(64, '0')}`,
  size: 100 + n,
  annotations: { [REF]: tag, 'io.github.trivy-mirror.stored-at': storedAt },
});
const record = {
  keepVersions: 2,
  importedAt: '2026-12-05T00:00:00.000Z',
  importedFrom: '/usb/x',
};

describe('mergeImported', () => {
  test('an import becomes current, annotated; the previous stays as history up to keepVersions', () => {
    const v1 = entry(1, '2', '2026-12-01T00:00:00.000Z');
    const v2 = entry(2, '2', '2026-12-02T00:00:00.000Z');
    const v3 = entry(3, '2', '2026-12-03T00:00:00.000Z');
    let merged = mergeImported([], [v1], record);
    merged = mergeImported(merged.manifests, [v2], record);
    merged = mergeImported(merged.manifests, [v3], record);
    assert.deepEqual(
      merged.manifests.map((m) => [m.digest, m.annotations?.[REF]]),
      [
        [v3.digest, '2'],
        [v2.digest, undefined],
      ],
    );
    assert.deepEqual(
      merged.dropped.map((d) => d.digest),
      [v1.digest],
    );
    assert.equal(merged.manifests[0].annotations?.['io.github.trivy-mirror.imported-from'], '/usb/x');
    assert.equal(merged.manifests[0].annotations?.['io.github.trivy-mirror.imported-at'], record.importedAt);
    assert.equal(
      merged.manifests[0].annotations?.['io.github.trivy-mirror.stored-at'],
      '2026-12-03T00:00:00.000Z',
    );
  });

  test('the merge takes what it is given (the rollback decision came before); the same version is re-recorded', () => {
    const newer = entry(2, '2', '2026-12-02T00:00:00.000Z');
    const older = entry(1, '2', '2026-12-01T00:00:00.000Z');
    const served = mergeImported([], [newer], record).manifests;
    const forced = mergeImported(served, [older], record);
    assert.equal(forced.manifests[0].digest, older.digest);
    assert.equal(forced.manifests[1].digest, newer.digest);
    const again = mergeImported(served, [newer], { ...record, importedAt: '2026-12-06T00:00:00.000Z' });
    assert.equal(again.manifests.length, 1);
    assert.equal(
      again.manifests[0].annotations?.['io.github.trivy-mirror.imported-at'],
      '2026-12-06T00:00:00.000Z',
    );
  });

  test("a served signature artifact stored later than the export's is kept (another key added since)", () => {
    const sigTag = `sha256-${'1'.padStart(64, '0')}.sig`;
    const newer = entry(8, sigTag, '2026-12-04T00:00:00.000Z');
    const older = entry(9, sigTag, '2026-12-02T00:00:00.000Z');
    const served = mergeImported([], [newer], record).manifests;
    assert.deepEqual(
      mergeImported(served, [older], record).manifests.map((m) => m.digest),
      [newer.digest],
    );
    const later = entry(7, sigTag, '2026-12-05T00:00:00.000Z');
    assert.deepEqual(
      mergeImported(served, [later], record).manifests.map((m) => m.digest),
      [later.digest],
    );
  });
});

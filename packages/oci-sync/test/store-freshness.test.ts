// The freshness line and the stale flag /status and the metric use, from a status record.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { freshnessOf } from '../src/metadata/store-freshness.js';

const now = new Date('2026-12-05T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();

describe('freshnessOf', () => {
  test('an imported db: when, from where, how old, next expected; stale once NextUpdate is staleAfterHours past', () => {
    const status = {
      artifact: 'trivy-db',
      tag: '2',
      manifestDigest: 'sha256:x',
      importedAt: hoursAgo(30),
      importedFrom: '/media/usb/trivy-store',
      updatedAt: hoursAgo(72),
      nextUpdate: hoursAgo(48),
    };
    const fresh = freshnessOf(status, now, 72);
    assert.equal(fresh.stale, false);
    assert.equal(fresh.ageSeconds, 72 * 3600);
    assert.equal(
      fresh.text,
      `imported ${status.importedAt} from /media/usb/trivy-store, 3 days old, next expected ${status.nextUpdate}`,
    );
    const stale = freshnessOf(status, now, 24);
    assert.equal(stale.stale, true);
    assert.match(
      stale.text,
      /; STALE: NextUpdate was 2 days ago \(staleAfterHours 24\), import a newer export$/,
    );
  });

  test('a synced db whose metadata.json is not read yet says so, and is not stale for it', () => {
    const status = {
      artifact: 'trivy-java-db',
      tag: '1',
      manifestDigest: 'sha256:x',
      layerDigest: 'sha256:layer',
      lastSuccess: hoursAgo(0),
      source: 'ghcr.io/aquasecurity/trivy-java-db:1',
    };
    const fresh = freshnessOf(status, now, 72);
    assert.equal(fresh.stale, false);
    assert.equal(fresh.ageSeconds, undefined);
    assert.equal(
      fresh.text,
      `synced ${status.lastSuccess} from ghcr.io/aquasecurity/trivy-java-db:1, age not known yet (metadata.json is read after the sync)`,
    );
    // once read (here: a layer without metadata.json), the note is gone
    assert.doesNotMatch(freshnessOf({ ...status, metadataRead: 'sha256:layer' }, now, 72).text, /not known/);
  });

  test('trivy-checks (no NextUpdate): age and staleness from the import time', () => {
    const status = { artifact: 'trivy-checks', tag: '2', importedAt: hoursAgo(5), importedFrom: '/x' };
    assert.deepEqual(freshnessOf(status, now, 72), {
      stale: false,
      ageSeconds: undefined,
      nextExpected: undefined,
      text: `imported ${status.importedAt} from /x`,
    });
    assert.match(freshnessOf(status, now, 4).text, /STALE: the import was 5 hours ago/);
  });

  test('a synced version names its source; nothing stored says so', () => {
    const synced = freshnessOf(
      {
        artifact: 'trivy-db',
        tag: '2',
        lastSuccess: hoursAgo(1),
        source: 'mirror.gcr.io/aquasec/trivy-db:2',
        updatedAt: hoursAgo(3),
      },
      now,
      72,
    );
    assert.equal(synced.text, `synced ${hoursAgo(1)} from mirror.gcr.io/aquasec/trivy-db:2, 3 hours old`);
    // trivy-checks unchanged upstream for weeks, synced an hour ago: not stale
    const checks = {
      artifact: 'trivy-checks',
      tag: '2',
      lastSuccess: hoursAgo(1),
      lastChange: hoursAgo(500),
    };
    assert.equal(freshnessOf(checks, now, 72).stale, false);
    assert.equal(freshnessOf(checks, now, 72).text, `synced ${hoursAgo(1)}`);
    assert.deepEqual(freshnessOf({ artifact: 'trivy-db', tag: '2' }, now, 72), {
      stale: false,
      ageSeconds: undefined,
      nextExpected: undefined,
      text: 'not stored',
    });
  });
});

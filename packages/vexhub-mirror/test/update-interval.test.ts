// update_interval of a VEX manifest as seconds (Go durations), for the staleness gauge and alert.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goDurationSeconds } from '../src/versions/go-duration.js';
import { DEFAULT_UPDATE_INTERVAL_SECONDS, updateIntervalSeconds } from '../src/vex-metrics.js';

test('Go durations parse to seconds; anything else is undefined', () => {
  assert.equal(goDurationSeconds('24h'), 86_400);
  assert.equal(goDurationSeconds('1h30m'), 5400);
  assert.equal(goDurationSeconds('1.5h'), 5400);
  assert.equal(goDurationSeconds('90s'), 90);
  assert.equal(goDurationSeconds('500ms'), 0.5);
  // Go takes both micro signs: U+00B5 and U+03BC
  assert.equal(goDurationSeconds('2000000\u00b5s'), 2);
  assert.equal(goDurationSeconds('2000000\u03bcs'), 2);
  assert.equal(goDurationSeconds('0'), 0);
  assert.equal(goDurationSeconds('-2m'), -120);
  for (const bad of ['', 'h', '24', '1d', '1h 30m', '24hours'])
    assert.equal(goDurationSeconds(bad), undefined, bad);
});

test("a manifest's update_interval, else 24 h", () => {
  const manifest = (v: Record<string, unknown>) =>
    Buffer.from(
      JSON.stringify({ versions: [{ spec_version: '0.1', locations: [{ url: 'https://x/a.zip' }], ...v }] }),
    );
  assert.equal(updateIntervalSeconds(manifest({ update_interval: '6h' })), 21_600);
  assert.equal(updateIntervalSeconds(manifest({})), DEFAULT_UPDATE_INTERVAL_SECONDS);
  assert.equal(updateIntervalSeconds(undefined), DEFAULT_UPDATE_INTERVAL_SECONDS);
  assert.equal(updateIntervalSeconds(Buffer.from('not json')), DEFAULT_UPDATE_INTERVAL_SECONDS);
});

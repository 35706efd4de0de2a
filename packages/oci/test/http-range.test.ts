// parseRange: the single-range subset of `Range: bytes=…` both HTTP servers answer (206 / 200 / 416).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRange } from '@trivy-mirror/oci/serve';

describe('parseRange', () => {
  test('a valid range, its end clamped to the body', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=10-10', 100), { start: 10, end: 10 });
    assert.deepEqual(parseRange('bytes=95-200', 100), { start: 95, end: 99 });
    assert.deepEqual(parseRange(' bytes=1-2 ', 100), { start: 1, end: 2 });
  });

  test('a suffix range: the last N bytes, all of them when N is larger than the body', () => {
    assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-500', 100), { start: 0, end: 99 });
    assert.equal(parseRange('bytes=-0', 100), null);
  });

  test('an open-ended range runs to the end', () => {
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=0-', 1), { start: 0, end: 0 });
  });

  test('a range at or after the end, or of an empty body, is unsatisfiable (416)', () => {
    assert.equal(parseRange('bytes=100-', 100), null);
    assert.equal(parseRange('bytes=100-200', 100), null);
    assert.equal(parseRange('bytes=0-', 0), null);
    assert.equal(parseRange('bytes=-5', 0), null);
  });

  test('several ranges: the whole body (RFC 9110 lets a server ignore them)', () => {
    assert.equal(parseRange('bytes=0-1,5-6', 100), undefined);
    assert.equal(parseRange('bytes=0-1, 5-6', 100), undefined);
  });

  test('no header, another unit, garbage or a reversed range: the whole body', () => {
    assert.equal(parseRange(undefined, 100), undefined);
    assert.equal(parseRange('', 100), undefined);
    assert.equal(parseRange('bytes=-', 100), undefined);
    assert.equal(parseRange('items=0-9', 100), undefined);
    assert.equal(parseRange('bytes=a-b', 100), undefined);
    assert.equal(parseRange('bytes=-1-2', 100), undefined);
    assert.equal(parseRange('bytes=9-0', 100), undefined);
    assert.equal(parseRange('bytes 0-9', 100), undefined);
  });
});

// VEX versions are ordered by their index.json updated_at: an older one replacing the served one is a
// rollback, refused unless the repository allows it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorCode } from '@trivy-mirror/plugin-api';
import { isVexRollback, refuseRollback } from '../src/versions/vex-rollback.js';

const served = { version: 'a'.repeat(64), updatedAt: '2026-12-05T00:00:00Z' };
const older = { version: 'b'.repeat(64), updatedAt: '2026-12-04T00:00:00Z' };
const warnings: string[] = [];
const log = { warn: (_: unknown, msg: string) => warnings.push(msg) } as never;

describe('VEX rollback', () => {
  test('older updated_at of another version is a rollback; newer, the same version, or none served are not', () => {
    assert.equal(isVexRollback(served, older), true);
    assert.equal(isVexRollback(served, { ...older, updatedAt: '2026-12-06T00:00:00Z' }), false);
    assert.equal(isVexRollback(served, { ...served, updatedAt: '2020-01-01T00:00:00Z' }), false);
    assert.equal(isVexRollback(undefined, older), false);
    assert.equal(isVexRollback(served, { ...older, updatedAt: 'garbage' }), false);
  });

  test('refused with ROLLBACK_REFUSED naming both versions, unless allowRollback (then a warning)', () => {
    assert.throws(
      () => refuseRollback({ name: 'vexhub' }, served, older, log),
      (err: unknown) =>
        errorCode(err) === 'ROLLBACK_REFUSED' &&
        String(err).includes(
          `sha256:${older.version} (updated_at ${older.updatedAt}) is older than the served sha256:${served.version}`,
        ) &&
        String(err).includes('--allow-rollback'),
    );
    refuseRollback({ name: 'vexhub', allowRollback: true }, served, older, log);
    assert.match(warnings.at(-1) ?? '', /rollback allowed/);
  });
});

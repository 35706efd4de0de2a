// The rollback decision (UpdatedAt first, stored-at only for imports) and how the source walk treats a
// refusal: the next source is tried, and a walk that ends without success is coded ROLLBACK_REFUSED.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorCode } from '@trivy-mirror/plugin-api';
import { RollbackRefusedError, rollbackOf } from '../src/rollback/rollback-guard.js';
import { SourceCooldowns, trySources } from '../src/sync/source-fallback.js';

const A = 'sha256:'.padEnd(71, 'a');
const B = 'sha256:'.padEnd(71, 'b');
const sync = { storedAtOrder: false };
const imp = { storedAtOrder: true };

describe('rollbackOf', () => {
  test('an older UpdatedAt is a rollback; newer, equal, the same digest or nothing served are not', () => {
    const served = { digest: A, updatedAt: '2026-12-05T00:00:00Z' };
    const r = rollbackOf(served, { digest: B, updatedAt: '2026-12-04T23:59:59Z' }, sync);
    assert.equal(r?.by, 'UpdatedAt');
    assert.equal(r?.served.digest, A);
    assert.equal(r?.incoming.digest, B);
    assert.equal(rollbackOf(served, { digest: B, updatedAt: '2026-12-05T00:00:01Z' }, sync), undefined);
    assert.equal(rollbackOf(served, { digest: B, updatedAt: '2026-12-05T00:00:00Z' }, sync), undefined);
    assert.equal(rollbackOf(served, { digest: A, updatedAt: '2020-01-01T00:00:00Z' }, sync), undefined);
    assert.equal(rollbackOf(undefined, { digest: B, updatedAt: '2020-01-01T00:00:00Z' }, sync), undefined);
  });

  test('UpdatedAt decides over stored-at when both sides have one', () => {
    const served = { digest: A, updatedAt: '2026-12-01T00:00:00Z', storedAt: '2026-12-01T00:00:00Z' };
    // built later, stored earlier (another connected mirror): not a rollback
    const incoming = { digest: B, updatedAt: '2026-12-02T00:00:00Z', storedAt: '2026-11-01T00:00:00Z' };
    assert.equal(rollbackOf(served, incoming, imp), undefined);
  });

  test('without UpdatedAt (trivy-checks) an import orders by stored-at; a sync has no order', () => {
    const served = { digest: A, storedAt: '2026-12-05T00:00:00.000Z' };
    const incoming = { digest: B, storedAt: '2026-12-01T00:00:00.000Z' };
    assert.equal(rollbackOf(served, incoming, imp)?.by, 'stored-at');
    assert.equal(rollbackOf(served, incoming, sync), undefined);
    // a side without any time: no order known, not refused
    assert.equal(rollbackOf({ digest: A }, incoming, imp), undefined);
    assert.equal(rollbackOf(served, { digest: B, updatedAt: 'not a time' }, imp), undefined);
  });
});

describe('trySources and a rollback refusal', () => {
  const sources = [
    { source: 'one/trivy-db:2', host: 'one' },
    { source: 'two/trivy-db:2', host: 'two' },
  ];
  const refuse = () => new RollbackRefusedError('trivy-db:2: rollback refused', []);

  test('a lagging source is passed over for the next one', async () => {
    const tried: string[] = [];
    const { source, value } = await trySources('trivy-db:2', sources, new SourceCooldowns(), async (s) => {
      tried.push(s.host);
      if (s.host === 'one') throw refuse();
      return 'same';
    });
    assert.deepEqual(tried, ['one', 'two']);
    assert.equal(source.host, 'two');
    assert.equal(value, 'same');
  });

  test('when no source succeeds the walk is coded ROLLBACK_REFUSED; one source throws its refusal as it is', async () => {
    await assert.rejects(
      trySources('trivy-db:2', sources, new SourceCooldowns(), async () => {
        throw refuse();
      }),
      (err: unknown) =>
        errorCode(err) === 'ROLLBACK_REFUSED' && /one\/trivy-db:2: .*two\/trivy-db:2: /.test(String(err)),
    );
    const only = refuse();
    await assert.rejects(
      trySources('trivy-db:2', sources.slice(0, 1), new SourceCooldowns(), async () => {
        throw only;
      }),
      (err: unknown) => err === only,
    );
  });
});

// The serving listener's per-client budget of failed logins (a token bucket per remote address).
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { AuthFailureBudget, clientKey } from '../src/http/auth-failure-budget.js';

describe('auth failure budget', () => {
  test('a burst of failures, then Retry-After until the budget refills; other clients unaffected', () => {
    let now = 0;
    const budget = new AuthFailureBudget({ burst: 3, refillPerMinute: 6, now: () => now });
    for (let i = 0; i < 3; i++) {
      assert.equal(budget.retryAfter('10.0.0.1'), undefined, `failure ${i + 1} allowed`);
      budget.spend('10.0.0.1');
    }
    assert.equal(budget.retryAfter('10.0.0.1'), 10, 'one failure back every 10 s');
    assert.equal(budget.retryAfter('10.0.0.2'), undefined);
    now += 4_000;
    assert.equal(budget.retryAfter('10.0.0.1'), 6);
    now += 6_000;
    assert.equal(budget.retryAfter('10.0.0.1'), undefined, 'refilled one');
    budget.spend('10.0.0.1');
    assert.equal(budget.retryAfter('10.0.0.1'), 10);
    now += 60_000;
    for (let i = 0; i < 3; i++) budget.spend('10.0.0.1');
    assert.equal(budget.retryAfter('10.0.0.1'), 10, 'refill stops at the burst');
  });

  test('bounded memory: the least recently failing client is forgotten first', () => {
    const budget = new AuthFailureBudget({ burst: 1, maxClients: 2, now: () => 0 });
    budget.spend('a');
    budget.spend('b');
    budget.spend('a');
    budget.spend('c');
    assert.equal(budget.size, 2);
    assert.equal(budget.retryAfter('b'), undefined, 'b forgotten');
    assert.ok(budget.retryAfter('a'));
    assert.ok(budget.retryAfter('c'));
  });

  test('client key: the remote address, IPv4-mapped IPv6 as IPv4', () => {
    const of = (remoteAddress: string) =>
      clientKey({ socket: { remoteAddress } } as unknown as IncomingMessage);
    assert.equal(of('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(of('::1'), '::1');
  });
});

// The admin listener's guard against web pages: Host names (DNS rebinding) and state-changing requests
// a browser could send cross-site (forms, no-cors fetch).
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { type AdminGuardOptions, checkAdminRequest, hostAllowed } from '../src/http/admin-guard.js';

const LOOPBACK: AdminGuardOptions = { listenHosts: ['127.0.0.1'] };

function req(method: string, headers: Record<string, string>): IncomingMessage {
  return { method, headers } as unknown as IncomingMessage;
}

function status(method: string, headers: Record<string, string>, options = LOOPBACK): number {
  const v = checkAdminRequest(req(method, headers), options);
  return v.ok ? 200 : v.status;
}

describe('admin guard', () => {
  test('Host: the listen address, loopback names, allowedHosts; not a rebinding name', () => {
    for (const h of [
      '127.0.0.1:9180',
      'localhost:9180',
      'LOCALHOST',
      '[::1]:9180',
      'a.localhost:1',
      '127.0.0.2',
    ])
      assert.ok(hostAllowed(h, LOOPBACK), h);
    for (const h of [
      'evil.example:9180',
      'evil.example',
      '10.0.0.1:9180',
      '',
      'a b',
      'x@127.0.0.1',
      '[zz]:1',
    ])
      assert.ok(!hostAllowed(h, LOOPBACK), h);
    const named: AdminGuardOptions = { listenHosts: ['10.1.2.3'], allowedHosts: ['Bastion.Internal'] };
    assert.ok(hostAllowed('10.1.2.3:9180', named));
    assert.ok(hostAllowed('bastion.internal:9180', named));
    assert.ok(hostAllowed('bastion.internal.:9180', named), 'a trailing dot is the same name');
    assert.ok(!hostAllowed('10.1.2.4:9180', named));
    assert.ok(!hostAllowed('other.internal', named));
    // Every interface: any IP literal is an address of this host, a name still has to be listed.
    const wildcard: AdminGuardOptions = { listenHosts: ['0.0.0.0', '0.0.0.0'] };
    assert.ok(hostAllowed('192.168.1.7:9180', wildcard));
    assert.ok(hostAllowed('[fe80::1]:9180', { listenHosts: ['::'] }));
    assert.ok(!hostAllowed('attacker.example:9180', wildcard));
  });

  test('421 for a foreign Host on every method, also GET /status', () => {
    assert.equal(status('GET', { host: 'rebind.example:9180' }), 421);
    assert.equal(status('POST', { host: 'rebind.example:9180', 'x-trivy-mirror': '1' }), 421);
    assert.equal(status('GET', { host: '127.0.0.1:9180' }), 200);
    assert.equal(status('GET', {}), 200, 'HTTP/1.0 without Host: no browser');
  });

  test('POST: refused when a simple cross-site request could have sent it', () => {
    const host = { host: '127.0.0.1:9180' };
    // What a form or a no-cors fetch can send: no header of its own, a simple content type.
    assert.equal(status('POST', host), 403);
    assert.equal(status('POST', { ...host, 'content-type': 'text/plain' }), 403);
    assert.equal(status('POST', { ...host, 'content-type': 'application/x-www-form-urlencoded' }), 403);
    assert.equal(status('POST', { ...host, 'content-type': 'text/plain; application/json' }), 403);
    // Cross-site by the browser's own headers, even with a header of ours (after a preflight we refuse anyway).
    const cross = { ...host, 'x-trivy-mirror': '1', 'content-type': 'application/json' };
    assert.equal(status('POST', { ...cross, origin: 'https://evil.example' }), 403);
    assert.equal(status('POST', { ...cross, origin: 'null' }), 403);
    assert.equal(status('POST', { ...cross, origin: 'http://127.0.0.1:9181' }), 403, 'another port');
    assert.equal(status('POST', { ...cross, 'sec-fetch-site': 'cross-site' }), 403);
    assert.equal(status('POST', { ...cross, 'sec-fetch-site': 'same-site' }), 403);
    assert.equal(status('DELETE', { ...host, origin: 'https://evil.example' }), 403);
  });

  test('POST: accepted from tools (JSON body or X-Trivy-Mirror) and from this origin', () => {
    const host = { host: '127.0.0.1:9180' };
    assert.equal(status('POST', { ...host, 'x-trivy-mirror': '1' }), 200);
    assert.equal(status('POST', { ...host, 'content-type': 'application/json' }), 200);
    assert.equal(
      status('POST', { ...host, 'content-type': 'application/merge-patch+json; charset=utf-8' }),
      200,
    );
    assert.equal(status('POST', { ...host, 'x-trivy-mirror': '1', 'sec-fetch-site': 'none' }), 200);
    // A page this listener served (a form of its own): the browser's Origin equals the Host.
    assert.equal(
      status('POST', { ...host, origin: 'http://127.0.0.1:9180', 'sec-fetch-site': 'same-origin' }),
      200,
    );
    assert.equal(status('POST', { host: 'localhost:9180', origin: 'http://localhost:9180' }), 200);
    assert.equal(status('OPTIONS', { ...host, origin: 'https://evil.example' }), 200, 'left to the routes');
  });
});

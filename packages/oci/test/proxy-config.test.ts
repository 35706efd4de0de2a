// The proxy decision, checked against the cases of Go's golang.org/x/net/http/httpproxy tests.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  describeRoute,
  NoProxy,
  parseProxyUrl,
  proxyEnvironment,
  ProxyRouter,
} from '../src/connection/proxy-config.js';

const route = (r: ProxyRouter, url: string) => r.route(new URL(url)).proxy?.href;

describe('proxy configuration (Go ProxyFromEnvironment semantics)', () => {
  test('HTTPS_PROXY for https, HTTP_PROXY for http; upper case wins; no scheme means http', () => {
    const r = new ProxyRouter({
      env: {
        HTTPS_PROXY: 'secure.proxy:3128',
        https_proxy: 'http://lower:1',
        HTTP_PROXY: 'http://plain:8080',
      },
    });
    assert.equal(route(r, 'https://ghcr.io/v2/'), 'http://secure.proxy:3128/');
    assert.equal(route(r, 'http://registry.internal:5000/v2/'), 'http://plain:8080/');
    assert.deepEqual(proxyEnvironment({ http_proxy: 'x:1' }), {
      httpProxy: 'x:1',
      httpsProxy: undefined,
      noProxy: undefined,
    });
    // https does not fall back to HTTP_PROXY (undici's EnvHttpProxyAgent would)
    assert.equal(
      route(new ProxyRouter({ env: { HTTP_PROXY: 'http://p:1' } }), 'https://ghcr.io/'),
      undefined,
    );
  });

  test('loopback is never proxied', () => {
    const r = new ProxyRouter({ env: { HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:1' } });
    for (const u of [
      'http://localhost:5000/',
      'http://127.0.0.1:5000/',
      'https://127.8.0.1/',
      'http://[::1]:80/',
    ]) {
      assert.equal(route(r, u), undefined, u);
    }
    assert.equal(route(r, 'http://localhost.example:5000/'), 'http://p:1/');
  });

  test('NO_PROXY: hosts and their subdomains, .suffix, *.suffix, ports, IPs, CIDRs, *', () => {
    const n = new NoProxy(
      'foo.com, .bar.org,*.baz.net, quux.io:5000, 10.0.0.1, 192.168.0.0/16, [2001:db8::1]:443, 2001:db8:1::/48',
    );
    const cases: [string, string, boolean][] = [
      ['foo.com', '443', true],
      ['www.foo.com', '443', true],
      ['xfoo.com', '443', false],
      ['bar.org', '443', false],
      ['a.bar.org', '443', true],
      ['baz.net', '443', false],
      ['a.baz.net', '443', true],
      ['quux.io', '5000', true],
      ['quux.io', '443', false],
      ['10.0.0.1', '80', true],
      ['10.0.0.2', '80', false],
      ['192.168.7.9', '443', true],
      ['[2001:db8::1]', '443', true],
      ['[2001:db8::1]', '80', false],
      ['2001:db8:1::5', '443', true],
    ];
    for (const [host, port, direct] of cases) assert.equal(n.matches(host, port), direct, `${host}:${port}`);
    assert.equal(new NoProxy('*').matches('anything', '1'), true);
    const r = new ProxyRouter({ env: { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'ghcr.io' } });
    assert.equal(route(r, 'https://ghcr.io/v2/'), undefined);
    assert.equal(route(r, 'https://pkg.ghcr.io/v2/'), undefined);
    assert.equal(route(r, 'https://mirror.gcr.io/v2/'), 'http://p:1/');
  });

  test('the proxy: section and registries[].proxy override the environment', () => {
    const env = { HTTPS_PROXY: 'http://env:1', NO_PROXY: 'ghcr.io' };
    const r = new ProxyRouter({
      env,
      settings: { url: 'http://u:p%40ss@corp:3128', noProxy: ['internal'] },
      hosts: [
        { host: 'registry.internal:5000', proxy: 'none' },
        { host: 'quay.io', proxy: 'http://other:8080' },
      ],
    });
    assert.equal(route(r, 'https://ghcr.io/v2/'), 'http://u:p%40ss@corp:3128/');
    assert.equal(route(r, 'https://a.internal/v2/'), undefined);
    assert.equal(route(r, 'https://registry.internal:5000/v2/'), undefined);
    assert.equal(route(r, 'https://quay.io/v2/'), 'http://other:8080/');
    assert.equal(route(new ProxyRouter({ env, settings: 'none' }), 'https://mirror.gcr.io/'), undefined);
    assert.equal(describeRoute(r.route(new URL('https://ghcr.io/'))), 'http://u:xxxxx@corp:3128 (proxy.url)');
    assert.equal(describeRoute(r.route(new URL('https://a.internal/'))), 'direct (proxy.noProxy)');
  });

  test('an invalid proxy URL is refused without showing its password', () => {
    assert.throws(
      () => parseProxyUrl('ftp://u:hunter2@p:1'),
      (e: Error) => !e.message.includes('hunter2'),
    );
  });
});

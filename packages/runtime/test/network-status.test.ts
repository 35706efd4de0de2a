// /status `network`: the configured hosts and which way each one's requests go (direct or which proxy,
// and why, credentials redacted); POST /network/probe on the admin listener runs the self-check of
// `config check --online` and /status keeps the lines.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { ProxyRouter } from '@trivy-mirror/oci';
import { type AdminState, createAdminListener } from '../src/http/admin-server.js';
import type { RuntimeConfig } from '../src/config/config-schema.js';
import { NetworkProbes } from '../src/network/network-probe-service.js';
import { hostRoutes } from '../src/network/network-routes.js';
import { networkTargets } from '../src/network/network-targets.js';
import { renderStatusPage } from '../src/status/status-page.js';
import { buildStatus } from '../src/status/status-report.js';
import { captureLogger, http } from './helpers.js';

const config = (plugins: Record<string, unknown>, extra: Partial<RuntimeConfig> = {}) =>
  ({ plugins: { external: [], ...plugins }, registries: [], ...extra }) as unknown as RuntimeConfig;

describe('network routes', () => {
  test('the configured hosts: sources, destinations, VEX URLs; once each, in config order', () => {
    const c = config(
      {
        'oci-sync': {
          sources: ['mirror.gcr.io/aquasec', 'ghcr.io/aquasecurity'],
          artifacts: [{ sources: ['ghcr.io/other'] }],
          destinations: ['registry.internal:5000/mirror', '127.0.0.1:5001/m'],
        },
        'vexhub-mirror': {
          repositories: [
            { name: 'vexhub', url: 'https://github.com/aquasecurity/vexhub' },
            { name: 'inside', source: 'import', url: 'https://x.example/' },
          ],
        },
      },
      { registries: [{ host: 'registry.internal:5000', plainHttp: true }] },
    );
    assert.deepEqual(
      networkTargets(c).map((t) => `${t.role} ${t.url.href}`),
      [
        'source https://mirror.gcr.io/',
        'source https://ghcr.io/',
        'destination http://registry.internal:5000/',
        'destination http://127.0.0.1:5001/',
        'vex https://github.com/aquasecurity/vexhub',
      ],
    );
    assert.deepEqual(networkTargets(config({ 'oci-sync': { enabled: false, sources: ['ghcr.io/x'] } })), []);
  });

  test('direct or which proxy, and why: env var, config, NO_PROXY, loopback; no password shown', () => {
    const c = config({
      'oci-sync': {
        sources: ['mirror.gcr.io/aquasec', 'ghcr.io/aquasecurity'],
        destinations: ['registry.corp.example/mirror', 'quay.io/m', '127.0.0.1:5000/m'],
      },
      'vexhub-mirror': { repositories: [{ name: 'vexhub', url: 'http://vex.example/vexhub' }] },
    });
    const env = {
      HTTPS_PROXY: 'http://alice:s3cret@proxy.corp:3128',
      HTTP_PROXY: 'http://plain.corp:3128',
      NO_PROXY: '.corp.example,ghcr.io',
    };
    const router = new ProxyRouter({ env, hosts: [{ host: 'quay.io', proxy: 'none' }] });
    const routes = hostRoutes(networkTargets(c), (url) => router.route(url));
    assert.deepEqual(
      routes.map((r) => [r.role, r.target, r.via, r.why]),
      [
        [
          'source',
          'mirror.gcr.io',
          'http://alice:xxxxx@proxy.corp:3128',
          'environment variable HTTPS_PROXY (or https_proxy)',
        ],
        ['source', 'ghcr.io', 'direct', 'environment variable NO_PROXY matches this host'],
        ['destination', 'registry.corp.example', 'direct', 'environment variable NO_PROXY matches this host'],
        ['destination', 'quay.io', 'direct', 'config registries[].proxy: none for this host'],
        ['destination', '127.0.0.1:5000', 'direct', 'loopback is never proxied'],
        [
          'vex',
          'http://vex.example/vexhub',
          'http://plain.corp:3128',
          'environment variable HTTP_PROXY (or http_proxy)',
        ],
      ],
    );
    assert.ok(!JSON.stringify(routes).includes('s3cret'));
    const configured = new ProxyRouter({ env, settings: { url: 'http://corp:8080', noProxy: ['quay.io'] } });
    assert.deepEqual(
      hostRoutes(networkTargets(c), (url) => configured.route(url)).map((r) => r.route),
      [
        'http://corp:8080 (proxy.url)',
        'http://corp:8080 (proxy.url)',
        'http://corp:8080 (proxy.url)',
        'direct (proxy.noProxy)',
        'direct (loopback)',
        'http://corp:8080 (proxy.url)',
      ],
    );
    const none = new ProxyRouter({ env, settings: 'none' });
    assert.deepEqual(
      hostRoutes(networkTargets(c), (url) => none.route(url)).map((r) => r.why)[0],
      'config proxy: none',
    );
  });
});

describe('POST /network/probe', () => {
  let registry: Server;
  let base: string;
  let admin: ReturnType<typeof createAdminListener>;
  let probes: NetworkProbes;
  let adminUrl: string;

  before(async () => {
    // a registry on loopback: /v2/ answers 200; everything else 404
    registry = createServer((req, res) => {
      res.writeHead(req.url === '/v2/' ? 200 : 404, { 'content-type': 'application/json' });
      res.end('{}');
    });
    registry.listen(0, '127.0.0.1');
    await once(registry, 'listening');
    base = `127.0.0.1:${(registry.address() as { port: number }).port}`;
    const c = config({
      'oci-sync': { sources: [`${base}/aquasec`], destinations: ['127.0.0.1:1/mirror'] },
      'vexhub-mirror': { repositories: [{ name: 'vexhub', url: `http://${base}/vexhub` }] },
    });
    probes = new NetworkProbes({
      config: c,
      clock: { now: () => new Date() },
      logger: captureLogger().logger,
      credentials: () => undefined,
    });
    const state = {
      routes: () => [probes.route()],
    } as unknown as AdminState;
    admin = createAdminListener({ listen: '127.0.0.1:0', logger: captureLogger().logger, state });
    await admin.listen();
    adminUrl = admin.address()!.url;
  });

  after(async () => {
    await admin?.close(1000);
    registry?.close();
  });

  test('guarded like the job triggers; JSON for a script, 303 back to the page for its form', async () => {
    assert.equal((await http(`${adminUrl}/network/probe`)).status, 405);
    const bare = await http(`${adminUrl}/network/probe`, { method: 'POST' });
    assert.equal(bare.status, 403, 'a simple cross-site POST could have sent it');
    const crossSite = await http(`${adminUrl}/network/probe`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
      body: '',
    });
    assert.equal(crossSite.status, 403);

    const r = await http(`${adminUrl}/network/probe`, { method: 'POST', headers: { 'x-trivy-mirror': '1' } });
    assert.equal(r.status, 200, r.text);
    const run = r.json() as { ok: boolean; lines: string[] };
    assert.equal(run.ok, false);
    assert.equal(run.lines.length, 3);
    assert.match(
      run.lines[0]!,
      new RegExp(
        `^✓ source ${base} via direct: dns ok .*tcp ok .*proxy ok \\(direct\\); v2 ok \\(200\\); auth ok`,
      ),
    );
    assert.match(
      run.lines[1]!,
      /^✗ destination 127\.0\.0\.1:1 via direct: dns ok .*; tcp FAILED: cannot connect to 127\.0\.0\.1:1 .*ECONNREFUSED/,
    );
    assert.match(
      run.lines[2]!,
      new RegExp(`^✓ vex http://${base}/vexhub via direct: .*http ok \\(GET answered 404\\)`),
    );

    const form = await fetch(`${adminUrl}/network/probe`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'text/html,application/xhtml+xml',
        origin: adminUrl,
        'sec-fetch-site': 'same-origin',
      },
      body: '',
    });
    assert.equal(form.status, 303);
    assert.equal(form.headers.get('location'), '/#network');

    // /status and the page carry the routes and the last run's lines
    const network = probes.status();
    assert.deepEqual(network.lastProbe?.lines.length, 3);
    assert.deepEqual(
      network.hosts.map((h) => `${h.role} ${h.target} ${h.via}`),
      [`source ${base} direct`, 'destination 127.0.0.1:1 direct', `vex http://${base}/vexhub direct`],
    );
    const report = buildStatus({
      version: '1',
      startedAt: new Date(),
      now: new Date(),
      readiness: { ready: true, phase: 'running', reasons: [], components: {} },
      jobs: { jobs: () => [], running: () => undefined, lastRun: () => undefined, nextRun: () => undefined },
      plugins: [],
      network,
    });
    const page = renderStatusPage(report, [], new Date(), { adminLinks: true });
    assert.match(
      page,
      /<form method="post" action="\/network\/probe"[^>]*><button type="submit" id="network-probe">/,
    );
    assert.match(page, /1 of 3 host\(s\) failed/);
    assert.ok(page.includes(`<div class="bad">✗ destination 127.0.0.1:1 via direct`));
    assert.doesNotMatch(
      renderStatusPage(report, [], new Date()),
      /<form/,
      'no button on the serving listener',
    );
  });
});

// Clients seen on the serving listener: User-Agent and path classification, the bound on distinct
// clients, the warnings, and the counts reaching /status and /metrics through a real listener.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { definePlugin, HttpRoute, ServeAuthenticator } from '@trivy-mirror/plugin-api';
import { ContainerModule } from 'inversify';
import { z } from 'zod';
import { artifactOf, clientOf, versionBelow } from '../src/clients/client-request.js';
import { clientWarnings } from '../src/clients/client-warnings.js';
import { ClientsSeen, MAX_TAGS, type ServedRequest } from '../src/clients/clients-seen.js';
import { createRuntime, RuntimeMetrics, type Runtime } from '../src/index.js';
import { asLoaded, captureLogger, http, tempDir, testConfig, waitFor } from './helpers.js';

const clock = { now: () => new Date('2026-12-02T12:00:00Z') };

function tracker(maxClients?: number) {
  const metrics = new RuntimeMetrics({ defaultMetrics: false });
  const { logger, lines } = captureLogger();
  return { seen: new ClientsSeen({ clock, logger, metrics, maxClients }), metrics, lines };
}

const get = (path: string, userAgent: string, extra: Partial<ServedRequest> = {}): ServedRequest => ({
  method: 'GET',
  path,
  userAgent,
  status: 200,
  finished: true,
  bodyBytes: 100,
  authorized: true,
  ...extra,
});

describe('client classification', () => {
  test('the User-Agent: trivy and trivy-mirror with their version, anything else "other"', () => {
    assert.deepEqual(clientOf('trivy/0.74.0'), { client: 'trivy', version: '0.74.0' });
    assert.deepEqual(clientOf('trivy/0.74.0 go-containerregistry/v0.20.6'), {
      client: 'trivy',
      version: '0.74.0',
    });
    assert.deepEqual(clientOf('trivy/dev'), { client: 'trivy', version: 'dev' });
    assert.deepEqual(clientOf('trivy-mirror/1.2.3'), { client: 'trivy-mirror', version: '1.2.3' });
    for (const ua of [undefined, '', 'curl/8.5.0', 'Go-http-client/1.1', 'trivy/', 'trivyx/1.0', 'trivy/<b>'])
      assert.deepEqual(clientOf(ua), { client: 'other', version: '' }, String(ua));
    assert.equal(clientOf(`trivy/${'9'.repeat(40)}`).client, 'other', 'an absurd version is not kept');
  });

  test('the path: the three OCI artifacts under any prefix, the tag of a manifest, VEX; nothing else', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(artifactOf('/v2/trivy-db/manifests/2'), { artifact: 'trivy-db', tag: '2' });
    assert.deepEqual(artifactOf('/v2/aquasec/trivy-checks/manifests/1'), {
      artifact: 'trivy-checks',
      tag: '1',
    });
    assert.deepEqual(artifactOf(`/v2/a/b/trivy-java-db/manifests/${digest}`), { artifact: 'trivy-java-db' });
    assert.deepEqual(artifactOf(`/v2/trivy-db/blobs/${digest}`), { artifact: 'trivy-db' });
    assert.deepEqual(artifactOf('/v2/trivy-db/tags/list'), { artifact: 'trivy-db' });
    assert.deepEqual(artifactOf('/.well-known/vex-repository.json'), { artifact: 'vex' });
    assert.deepEqual(artifactOf('/vexhub/.well-known/vex-repository.json'), { artifact: 'vex' });
    assert.deepEqual(artifactOf('/vex/vexhub/archive.zip'), { artifact: 'vex' });
    assert.deepEqual(artifactOf('/vex/vexhub/archive.tar.gz'), { artifact: 'vex' });
    for (const p of ['/v2/', '/v2/_catalog', '/v2/alpine/manifests/3', '/', '/healthz', '/v2/x/archive.zip'])
      assert.equal(artifactOf(p), undefined, p);
  });

  test('versions compare by major.minor.patch; unreadable ones are never below', () => {
    assert.equal(versionBelow('0.68.2', '0.69.0'), true);
    assert.equal(versionBelow('0.69.0', '0.69.0'), false);
    assert.equal(versionBelow('0.100.0', '0.69.0'), false);
    assert.equal(versionBelow('1.0.0', '0.73.0'), false);
    assert.equal(versionBelow('dev', '0.73.0'), false);
  });
});

describe('client warnings', () => {
  const use = (version: string, artifacts: Record<string, { tags?: string[]; notModified?: number }>) => ({
    client: 'trivy',
    version,
    artifacts: Object.fromEntries(
      Object.entries(artifacts).map(([k, v]) => [k, { tags: v.tags ?? [], notModified: v.notModified ?? 0 }]),
    ),
  });

  test('a checks tag the version does not read', () => {
    assert.match(
      clientWarnings(use('0.74.0', { 'trivy-checks': { tags: ['1'] } })).join(),
      /trivy 0\.74\.0 pulled trivy-checks:1, which Trivy ≥ 0\.69 no longer uses: point --checks-bundle-repository at :2/,
    );
    assert.match(
      clientWarnings(use('0.68.2', { 'trivy-checks': { tags: ['2'] } })).join(),
      /trivy 0\.68\.2 pulled trivy-checks:2, which Trivy < 0\.69 cannot read/,
    );
    assert.deepEqual(clientWarnings(use('0.74.0', { 'trivy-checks': { tags: ['2'] } })), []);
    assert.deepEqual(clientWarnings(use('0.68.2', { 'trivy-checks': { tags: ['1'] } })), []);
    assert.deepEqual(clientWarnings(use('dev', { 'trivy-checks': { tags: ['1', '2'] } })), []);
  });

  test('a 304 for VEX before 0.73; never for other clients', () => {
    assert.match(
      clientWarnings(use('0.70.0', { vex: { notModified: 1 } })).join(),
      /trivy 0\.70\.0 got a 304 for VEX: Trivy ≤ 0\.72 wipes its VEX cache on a 304; set plugins\.vexhub-mirror\.etag: false/,
    );
    assert.deepEqual(clientWarnings(use('0.73.0', { vex: { notModified: 3 } })), []);
    assert.deepEqual(clientWarnings(use('0.70.0', { vex: { notModified: 0 } })), []);
    assert.deepEqual(
      clientWarnings({ ...use('0.70.0', { vex: { notModified: 1 } }), client: 'trivy-mirror' }),
      [],
    );
  });
});

describe('ClientsSeen', () => {
  test('counts requests, bytes of whole GET 200/206, 304s, failures and tags per client and artifact', async () => {
    const { seen, metrics } = tracker();
    const ua = 'trivy/0.74.0';
    seen.record(get('/v2/trivy-db/manifests/2', ua, { bodyBytes: 500 }));
    seen.record(get(`/v2/trivy-db/blobs/sha256:${'b'.repeat(64)}`, ua, { bodyBytes: 4000 }));
    seen.record(get('/v2/trivy-db/blobs/x', ua, { status: 206, bodyBytes: 1000 }));
    seen.record(get('/v2/trivy-db/blobs/y', ua, { finished: false, bodyBytes: 9000 }));
    seen.record(get('/v2/trivy-db/manifests/2', ua, { method: 'HEAD' }));
    seen.record(get('/v2/trivy-db/manifests/3', ua, { status: 404, bodyBytes: 80 }));
    seen.record(get('/vexhub/.well-known/vex-repository.json', ua, { status: 304 }));
    seen.record(get('/v2/', ua));
    seen.record(get('/v2/trivy-db/manifests/2', 'curl/8.5.0', { bodyBytes: 500 }));
    const [curl, trivy, ...rest] = seen.snapshot().sort((a, b) => a.client.localeCompare(b.client));
    assert.equal(rest.length, 0);
    assert.deepEqual(trivy, {
      client: 'trivy',
      version: '0.74.0',
      firstSeen: '2026-12-02T12:00:00.000Z',
      lastSeen: '2026-12-02T12:00:00.000Z',
      requests: 7,
      bytes: 5500,
      artifacts: {
        'trivy-db': {
          requests: 6,
          bytes: 5500,
          lastSeen: '2026-12-02T12:00:00.000Z',
          tags: ['2', '3'],
          notModified: 0,
          failed: 1,
        },
        vex: {
          requests: 1,
          bytes: 0,
          lastSeen: '2026-12-02T12:00:00.000Z',
          tags: [],
          notModified: 1,
          failed: 0,
        },
      },
      warnings: [],
    });
    assert.equal(curl!.client, 'other');
    assert.equal(curl!.requests, 1);
    const text = await metrics.text();
    assert.match(
      text,
      /trivy_mirror_client_requests_total\{client="trivy",version="0\.74\.0",artifact="trivy-db",code="200"\} 4/,
    );
    assert.match(text, /trivy_mirror_client_requests_total\{[^}]*artifact="trivy-db",code="404"\} 1/);
    assert.match(text, /trivy_mirror_client_requests_total\{[^}]*artifact="vex",code="304"\} 1/);
    assert.match(
      text,
      /trivy_mirror_client_bytes_total\{client="trivy",version="0\.74\.0",artifact="trivy-db"\} 5500/,
    );
    assert.match(
      text,
      /trivy_mirror_client_bytes_total\{client="other",version="",artifact="trivy-db"\} 500/,
    );
  });

  test('at most maxClients versions; the rest count as "other"; tags are bounded too', async () => {
    const { seen, metrics } = tracker(3);
    for (let i = 0; i < 50; i++) seen.record(get('/v2/trivy-db/manifests/2', `trivy/0.${i}.0`));
    seen.record(get('/v2/trivy-db/manifests/2', 'evil/1'));
    seen.record(get('/v2/trivy-db/manifests/2', 'trivy/0.1.0'));
    const list = seen.snapshot();
    assert.deepEqual(list.map((c) => `${c.client} ${c.version}`).sort(), [
      'other ',
      'trivy 0.0.0',
      'trivy 0.1.0',
      'trivy 0.2.0',
    ]);
    assert.equal(list.find((c) => c.client === 'other')!.requests, 48);
    assert.equal(list.find((c) => c.version === '0.1.0')!.requests, 2, 'a known version keeps counting');
    const series = (await metrics.text())
      .split('\n')
      .filter((l) => l.startsWith('trivy_mirror_client_requests_total{'));
    assert.equal(series.length, 4);
    for (let i = 0; i < 40; i++)
      seen.record(get(`/v2/trivy-db/manifests/t${i}`, 'trivy/0.0.0', { status: 404 }));
    assert.equal(
      seen.snapshot().find((c) => c.version === '0.0.0')!.artifacts['trivy-db']!.tags.length,
      MAX_TAGS,
    );
  });

  test('401s count apart, by artifact only, and claim no client slot', async () => {
    const { seen, metrics } = tracker(1);
    seen.record(get('/v2/trivy-db/manifests/2', 'trivy/0.1.0', { status: 401, authorized: false }));
    seen.record(get('/v2/trivy-db/manifests/2', 'trivy/0.74.0'));
    assert.deepEqual(
      seen.snapshot().map((c) => c.version),
      ['0.74.0'],
    );
    assert.match(await metrics.text(), /trivy_mirror_client_unauthorized_total\{artifact="trivy-db"\} 1/);
  });

  test('a warning shows in the snapshot and is logged once', () => {
    const { seen, lines } = tracker();
    for (let i = 0; i < 3; i++) seen.record(get('/v2/trivy-checks/manifests/1', 'trivy/0.74.0'));
    seen.record(get('/.well-known/vex-repository.json', 'trivy/0.70.0', { status: 304 }));
    seen.record(get('/.well-known/vex-repository.json', 'trivy/0.70.0', { status: 304 }));
    const warnings = seen.snapshot().flatMap((c) => c.warnings);
    assert.equal(warnings.length, 2);
    const logged = lines.filter((l) => l.level === 40).map((l) => String(l.msg));
    assert.deepEqual(logged.sort(), [...warnings].sort());
  });
});

describe('clients through the serving listener', () => {
  const plugin = definePlugin({
    id: 'fake-registry',
    description: 'answers like the registry and the VEX routes',
    configSchema: z.strictObject({ auth: z.boolean().default(false) }),
    module: (config) =>
      new ContainerModule(({ bind }) => {
        bind<HttpRoute>(HttpRoute).toConstantValue({
          id: 'all',
          listener: 'serve',
          prefix: '/',
          handle: (req, res) => {
            if (req.headers['if-none-match']) {
              res.writeHead(304).end();
              return true;
            }
            const body = 'x'.repeat(1234);
            res.writeHead(200, { 'content-length': body.length });
            res.end(req.method === 'HEAD' ? undefined : body);
            return true;
          },
        });
        if (config.auth)
          bind<ServeAuthenticator>(ServeAuthenticator).toConstantValue({
            id: 'token',
            authenticate: (req) => (req.headers.authorization === 'Bearer ok' ? 'granted' : 'absent'),
          });
      }),
  });
  const plugins = [plugin] as never[];
  let dir: string;
  let cleanup: () => Promise<void>;
  let runtime: Runtime;
  before(async () => {
    ({ dir, cleanup } = await tempDir('rt-clients-'));
    const config = testConfig(
      dir,
      { serve: { listen: '127.0.0.1:0' }, plugins: { 'fake-registry': { auth: true } } },
      plugins,
    );
    runtime = createRuntime({ config, plugins: asLoaded(config, plugins), logger: captureLogger().logger });
    await runtime.start({ scheduler: false });
  });
  after(async () => {
    await runtime.stop();
    await cleanup();
  });

  test('/status lists the client and its artifacts; /metrics counts them; the page shows the warning', async () => {
    const base = runtime.serveUrl!;
    const headers = { authorization: 'Bearer ok', 'user-agent': 'trivy/0.70.0' };
    assert.equal((await http(`${base}/v2/aquasec/trivy-checks/manifests/2`, { headers })).status, 200);
    assert.equal((await http(`${base}/v2/trivy-db/blobs/sha256:1`, { headers })).status, 200);
    const conditional = { ...headers, 'if-none-match': '"v1"' };
    assert.equal(
      (await http(`${base}/.well-known/vex-repository.json`, { headers: conditional })).status,
      304,
    );
    assert.equal(
      (await http(`${base}/v2/trivy-db/manifests/2`, { headers: { 'user-agent': 'trivy/0.70.0' } })).status,
      401,
    );
    assert.equal((await http(`${base}/`, { headers })).status, 200, 'not an artifact: not counted');
    const status = await waitFor(async () => {
      const s = await runtime.status();
      return s.clients[0]?.requests === 3 ? s : undefined;
    });
    assert.equal(status.clients.length, 1);
    const [c] = status.clients;
    assert.equal(c!.version, '0.70.0');
    assert.deepEqual(Object.keys(c!.artifacts), ['trivy-checks', 'trivy-db', 'vex']);
    assert.equal(c!.artifacts['trivy-db']!.bytes, 1234);
    assert.deepEqual(c!.artifacts['trivy-checks']!.tags, ['2']);
    assert.equal(c!.warnings.length, 1);
    assert.match(c!.warnings[0]!, /got a 304 for VEX/);
    const { text } = await runtime.metricsText();
    assert.match(
      text,
      /trivy_mirror_client_bytes_total\{client="trivy",version="0\.70\.0",artifact="trivy-db"\} 1234/,
    );
    assert.match(text, /trivy_mirror_client_unauthorized_total\{artifact="trivy-db"\} 1/);
    const html = await (await fetch(`${runtime.adminUrl}/`)).text();
    assert.match(html, /<h2>Clients since start<\/h2>/);
    assert.match(html, /⚠ trivy 0\.70\.0 got a 304 for VEX/);
  });
});

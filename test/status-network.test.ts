// End to end, the network as the people on call see it: the built daemon behind a proxy set in its
// environment (with a password), its sources, destination and VEX repository. /status, the status page
// and `trivy-mirror status` say which way each host goes (direct: loopback; the proxy, password
// redacted: HTTPS_PROXY) and why; the page's "Run the network self-check" button, clicked in headless
// Chromium, runs the probe inside the daemon and the page shows the lines `trivy-mirror doctor` prints.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningRegistry, startRegistry } from '@trivy-mirror/fixtures';
import { dumpDom, visibleText } from './helpers/chromium.js';
import { clickAndDump } from './helpers/chromium-click.js';
import { type DaemonProcess, freePort, runCli, startDaemon } from './helpers/daemon-process.js';
import { startVexServer, type VexServer } from './helpers/vex-server.js';

const PUSH_USER = 'mirror-bot';
const PUSH_SECRET = `pw-${randomBytes(12).toString('hex')}`;
const PROXY_SECRET = `px-${randomBytes(12).toString('hex')}`;
// A proxy nobody listens on: a host that goes through it fails at TCP, and no name is ever looked up
// beyond loopback (the proxy would resolve it).
const PROXY = `http://corp-user:${PROXY_SECRET}@127.0.0.1:9`;
const REDACTED = 'http://corp-user:xxxxx@127.0.0.1:9';
const ENV = {
  HTTPS_PROXY: PROXY,
  HTTP_PROXY: PROXY,
  https_proxy: '',
  http_proxy: '',
  NO_PROXY: '',
  no_proxy: '',
};
const FAR = 'mirror.example.test';

interface HostRoute {
  role: string;
  target: string;
  via: string;
  why: string;
}
interface NetworkJson {
  network: { hosts: HostRoute[]; lastProbe?: { ok: boolean; lines: string[] } };
}

describe('network routes and the self-check button (built daemon, headless Chromium)', {
  timeout: 180_000,
}, () => {
  let dir: string;
  let upstream: RunningRegistry;
  let destination: RunningRegistry;
  let vex: VexServer;
  let daemon: DaemonProcess | undefined;
  let adminUrl: string;
  let configPath: string;
  const network = async () => ((await (await fetch(`${adminUrl}/status`)).json()) as NetworkJson).network;
  const noSecret = (text: string, where: string) =>
    assert.ok(!text.includes(PROXY_SECRET) && !text.includes(PUSH_SECRET), `a credential in ${where}`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-e2e-status-network-'));
    [upstream, destination, vex] = await Promise.all([
      startRegistry(),
      startRegistry({ htpasswd: [{ username: PUSH_USER, password: PUSH_SECRET }] }),
      startVexServer(),
    ]);
    const adminPort = await freePort();
    adminUrl = `http://127.0.0.1:${adminPort}`;
    const secretFile = join(dir, 'push-password');
    await writeFile(secretFile, PUSH_SECRET, { mode: 0o600 });
    configPath = join(dir, 'config.yaml');
    await writeFile(
      configPath,
      `stateDir: ${dir}/state
admin: { listen: 127.0.0.1:${adminPort} }
log: { level: info, format: json }
plugins:
  auth-providers:
    dockerConfig: false
    credentials:
      - { host: "${destination.host}", username: ${PUSH_USER}, passwordFile: ${secretFile} }
  oci-sync:
    sources: [${upstream.host}/aquasec, ${FAR}/aquasec]
    destinations: [${destination.host}/mirror]
  cache-populator: { targets: [] }
  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }
`,
    );
    daemon = await startDaemon({ args: ['run', '--config', configPath], adminUrl, env: ENV });
  });

  after(async () => {
    await daemon?.stop('SIGKILL').catch(() => {});
    await Promise.allSettled([upstream?.stop(), destination?.stop(), vex?.close()]);
    if (dir && process.env.TM_KEEP !== '1') await rm(dir, { recursive: true, force: true });
    else if (dir) console.log(`# kept ${dir}`);
  });

  test('/status, the page and `status` say which way each host goes and why; no password shows', async () => {
    const { hosts } = await network();
    const loopback = 'loopback is never proxied';
    assert.deepEqual(
      hosts.map((h) => [h.role, h.target, h.via, h.why]),
      [
        ['source', upstream.host, 'direct', loopback],
        ['source', FAR, REDACTED, 'environment variable HTTPS_PROXY (or https_proxy)'],
        ['destination', destination.host, 'direct', loopback],
        ['vex', `${vex.url}/vexhub`, 'direct', loopback],
      ],
    );
    noSecret(await (await fetch(`${adminUrl}/status`)).text(), '/status');

    const dom = await dumpDom(`${adminUrl}/`);
    noSecret(dom, 'the page');
    const text = visibleText(dom);
    // the page strips the user too
    assert.match(
      text,
      new RegExp(`source ${FAR} http://\\[redacted\\]@127\\.0\\.0\\.1:9 environment variable HTTPS_PROXY`),
    );
    assert.ok(text.includes(`destination ${destination.host} direct ${loopback}`), text);
    assert.match(text, /Run the network self-check .* not run since start/);

    const cli = await runCli(['status', '--config', configPath]);
    noSecret(cli.stdout + cli.stderr, 'status');
    assert.match(cli.stdout, /^ {2}ROLE +HOST +ROUTE +WHY$/m);
    assert.match(
      cli.stdout,
      new RegExp(`^ {2}source +${FAR} +${REDACTED} +environment variable HTTPS_PROXY`, 'm'),
    );
    assert.match(cli.stdout, new RegExp(`^ {2}vex +${vex.url}/vexhub +direct +${loopback}$`, 'm'));
  });

  test('the button runs the probe in the daemon; the page shows the lines `doctor` prints', async () => {
    const shot = join(dir, 'status-network-probe.png');
    const clicked = await clickAndDump(`${adminUrl}/`, '#network-probe', { screenshot: shot });
    assert.equal(clicked.url, `${adminUrl}/#network`, clicked.dom.slice(0, 2000));
    assert.ok((await stat(shot)).size > 10_000, `screenshot ${shot}`);
    noSecret(clicked.dom, 'the page after the probe');
    const text = visibleText(clicked.dom);
    assert.match(text, /Last self-check .* 1 of 4 host\(s\) failed/);

    const { lastProbe } = await network();
    assert.equal(lastProbe?.ok, false);
    const lines = lastProbe!.lines;
    assert.equal(lines.length, 4);
    // on the page as `doctor` prints them (the page also hides the proxy's user name)
    for (const line of lines)
      assert.ok(
        text.includes(line.replaceAll(REDACTED, 'http://[redacted]@127.0.0.1:9')),
        `the page shows ${line}`,
      );
    const ok = `via direct \\(loopback\\): dns ok \\(127\\.0\\.0\\.1 → 127\\.0\\.0\\.1\\); tcp ok`;
    assert.match(lines[0]!, new RegExp(`^✓ source ${upstream.host} ${ok} .*; v2 ok \\(200\\); auth ok`));
    assert.match(
      lines[1]!,
      new RegExp(
        `^✗ source ${FAR} via ${REDACTED} \\(HTTPS_PROXY\\): dns ok \\(127\\.0\\.0\\.1 → 127\\.0\\.0\\.1; ${FAR} is resolved by the proxy\\); tcp FAILED: cannot connect to proxy ${REDACTED} .*ECONNREFUSED`,
      ),
    );
    assert.match(
      lines[2]!,
      new RegExp(
        `^✓ destination ${destination.host} ${ok} .*v2 ok \\(401 \\(Basic\\)\\); auth ok \\(credentials accepted \\(Basic\\)\\)`,
      ),
    );
    assert.match(lines[3]!, new RegExp(`^✓ vex ${vex.url}/vexhub ${ok} .*; http ok \\(GET answered 404\\)`));

    // `doctor` (config check --online) from the same config and environment: the same lines
    const doctor = await runCli(['doctor', '--config', configPath], { env: ENV });
    assert.equal(doctor.code, 1, doctor.stdout + doctor.stderr);
    noSecret(doctor.stdout + doctor.stderr, 'doctor');
    assert.deepEqual(
      doctor.stdout.split('\n').filter((l) => /^[✓✗] /.test(l)),
      lines,
    );
    assert.ok(
      doctor.stderr.includes(`network check failed: ${FAR}: tcp: cannot connect to proxy ${REDACTED}`),
    );
    // and `status` lists the last run under the routes
    const cli = await runCli(['status', '--config', configPath]);
    assert.match(cli.stdout, /^ {2}last self-check \d+s ago:\n {4}✓ source /m);
  });
});

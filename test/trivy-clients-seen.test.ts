// Clients seen, with the real Trivy v0.74: one scan through the mirror (DB, java DB, checks, VEX) shows
// up on /metrics and /status as client trivy 0.74.0 per artifact; the same Trivy pointed at
// trivy-checks:1 gets a warning on /status, in the log and on the status page (set-up: helpers/trivy-world.ts).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ClientStatus } from '@trivy-mirror/runtime';
import { getStatus } from './helpers/admin-api.js';
import { clientConfig } from './helpers/client-config.js';
import { runCli } from './helpers/daemon-process.js';
import { runTrivy } from './helpers/trivy-cli.js';
import { PROJECT, scanProject } from './helpers/trivy-expect.js';
import { startTrivyWorld, type TrivyWorld } from './helpers/trivy-world.js';

const VERSION = '0.74.0';
const OCI = ['trivy-db', 'trivy-java-db', 'trivy-checks'];

/** `name{labels} value` lines of one metric whose labels include every one of `labels`. */
function samples(text: string, name: string, labels: Record<string, string>): number[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .filter((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
    .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
}
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('clients seen: the real Trivy on /metrics, /status and the status page', {
  timeout: 900_000,
}, () => {
  let world: TrivyWorld;
  before(async () => (world = await startTrivyWorld('trivy-clients')));
  after(() => world?.stop());

  const clients = async () => (await getStatus(world.daemon)).clients as ClientStatus[];
  const trivy = async () => (await clients()).find((c) => c.client === 'trivy' && c.version === VERSION);

  test('a scan counts requests and bytes per artifact for trivy 0.74.0', async () => {
    const cc = await clientConfig(world.config);
    const home = await world.clientHome('scan');
    await cc.writeFiles(home);
    await scanProject(
      ['--cache-dir', join(home, 'cache'), ...cc.args(), ...cc.args(cc.vex!)],
      { home },
      { vex: true },
      'through the mirror',
    );
    const metrics = await (await fetch(`${world.daemon.adminUrl}/metrics`)).text();
    for (const artifact of [...OCI, 'vex']) {
      const labels = { client: 'trivy', version: VERSION, artifact };
      const requests = sum(samples(metrics, 'trivy_mirror_client_requests_total', labels));
      assert.ok(requests > 0, `${artifact}: no requests counted\n${metrics}`);
      const bytes = sum(samples(metrics, 'trivy_mirror_client_bytes_total', labels));
      assert.ok(bytes > 0, `${artifact}: no bytes counted`);
    }
    // every request of the scan carried trivy/0.74.0 (ggcr's suffix included): none counted as "other"
    assert.deepEqual(samples(metrics, 'trivy_mirror_client_requests_total', { client: 'other' }), []);
    assert.deepEqual(samples(metrics, 'trivy_mirror_client_unauthorized_total', {}), []);

    const seen = await trivy();
    assert.ok(seen, `trivy ${VERSION} not on /status: ${JSON.stringify(await clients())}`);
    assert.deepEqual(Object.keys(seen.artifacts).sort(), [...OCI, 'vex'].sort());
    assert.deepEqual(seen.artifacts['trivy-db']!.tags, ['2']);
    assert.deepEqual(seen.artifacts['trivy-java-db']!.tags, ['1']);
    assert.deepEqual(seen.artifacts['trivy-checks']!.tags, ['2']);
    // what Trivy got of each artifact includes the whole layer the store holds (plus the manifest)
    const status = await getStatus(world.daemon);
    const stored = (
      status.components as Record<string, { artifacts: Record<string, { layerSize: number }> }>
    )['oci-sync']!.artifacts;
    for (const key of ['trivy-db:2', 'trivy-java-db:1', 'trivy-checks:2']) {
      const got = seen.artifacts[key.split(':')[0]!]!.bytes;
      assert.ok(got > stored[key]!.layerSize, `${key}: ${got} bytes served, layer ${stored[key]!.layerSize}`);
    }
    assert.equal(seen.requests, sum(Object.values(seen.artifacts).map((a) => a.requests)));
    assert.ok(Date.parse(seen.lastSeen) >= Date.parse(seen.firstSeen));
    assert.deepEqual(seen.warnings, [], 'the right tags and no 304: nothing to warn about');
  });

  test('the same Trivy pulling trivy-checks:1 gets a warning on /status, the log, the page and the CLI', async () => {
    const home = await world.clientHome('checks-1');
    const run = await runTrivy(
      [
        'fs',
        '--scanners',
        'misconfig',
        '--cache-dir',
        join(home, 'cache'),
        '--checks-bundle-repository',
        `${world.serveHost}/trivy-checks:1`,
        '--format',
        'json',
        PROJECT,
      ],
      { home },
    );
    // whether Trivy 0.74 gets on with the old bundle is not the point here: the mirror saw the pull
    const seen = await trivy();
    assert.ok(seen, `trivy ${VERSION} not on /status: ${run.stderr}`);
    assert.ok(seen.artifacts['trivy-checks']?.tags.includes('1'), `${run.stderr}\n${JSON.stringify(seen)}`);
    const warning = seen.warnings.find((w) => w.includes('trivy-checks:1'));
    assert.equal(
      warning,
      `trivy ${VERSION} pulled trivy-checks:1, which Trivy ≥ 0.69 no longer uses: point --checks-bundle-repository at :2`,
    );
    await world.daemon.waitForLog((l) => l.level === 40 && l.msg === warning, 10_000);
    const page = await (await fetch(`${world.daemon.adminUrl}/`)).text();
    assert.match(page, /<h2>Clients since start<\/h2>/);
    assert.ok(page.includes(`⚠ trivy ${VERSION} pulled trivy-checks:1`), 'the warning on the page');
    const cli = await runCli(['status', '--config', world.config]);
    // a client's warning leaves the verdict alone; this world's VEX snapshot is months old: STALE (exit 4)
    assert.equal(cli.code, 4, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /^trivy-mirror \S+ {2}STALE /);
    assert.match(cli.stdout, /clients since start \(serving listener\)\n {2}CLIENT +VERSION +REQUESTS/);
    assert.match(
      cli.stdout,
      new RegExp(`trivy +${VERSION.replaceAll('.', '\\.')} +\\d+ .*trivy-checks:1 trivy-checks:2`),
    );
    assert.ok(cli.stdout.includes(`  warning: ${warning}`), cli.stdout);
  });
});

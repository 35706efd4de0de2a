// The deployment profiles end to end: `config example --profile NAME` as printed, made local (state dir,
// listeners, sources, URLs, cache dirs set to loopback fixtures and temp dirs, nothing else changed),
// run as the built daemon against real docker-registry instances until /readyz is 200; then what the
// profile promises is checked. The inside profile runs the same way in the air-gap suites
// (test/helpers/airgap-site.ts), which first need a connected side to export from.
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { getStatus, waitReady } from './helpers/admin-api.js';
import { type DaemonProcess, freePort, runCli, startDaemon } from './helpers/daemon-process.js';
import { setYamlPaths, type YamlPath } from './helpers/local-config.js';
import { trivyVexFetch } from './helpers/trivy-vex-client.js';
import { startVexServer, type VexServer } from './helpers/vex-server.js';

interface StatusJson {
  ready: boolean;
  plugins: { id: string; enabled: boolean }[];
  jobs: { id: string }[];
}

describe('deployment profiles (built daemon, real registries)', { timeout: 150_000 }, () => {
  let dir: string;
  let upstream: RunningRegistry;
  let registry: RunningRegistry;
  let runnerSource: RunningRegistry;
  let vex: VexServer;
  let seeded: SeedUpstreamResult;
  const started: DaemonProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-e2e-profiles-'));
    [upstream, registry, runnerSource, vex] = await Promise.all([
      startRegistry(),
      startRegistry(),
      startRegistry(),
      startVexServer(),
    ]);
    const seed = (registryUrl: string, prefix: string) =>
      seedUpstream({
        registryUrl,
        prefix,
        workDir: join(dir, `seed-${prefix}`),
        dbBytes: 64 * 1024,
        javaDbBytes: 64 * 1024,
        seed: 'e2e-profiles',
      });
    // The upstream, and the private registry a CI runner reads (trivy/NAME:TAG, as the bastion pushes).
    [seeded] = await Promise.all([seed(upstream.url, 'aquasec'), seed(runnerSource.url, 'trivy')]);
  });

  after(async () => {
    for (const d of started) await d.stop('SIGKILL').catch(() => {});
    await Promise.allSettled([upstream?.stop(), registry?.stop(), runnerSource?.stop(), vex?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Prints the profile, sets `values`, checks it and starts the daemon on it until /readyz is 200. */
  async function runProfile(
    profile: string,
    values: (work: string) => [YamlPath, unknown][],
  ): Promise<{ daemon: DaemonProcess; work: string; status: StatusJson }> {
    const work = join(dir, profile);
    const printed = await runCli(['config', 'example', '--profile', profile], { timeoutMs: 20_000 });
    assert.equal(printed.code, 0, printed.stderr);
    const adminPort = await freePort();
    const file = join(dir, `${profile}.yaml`);
    await writeFile(
      file,
      setYamlPaths(printed.stdout, [
        [['stateDir'], `${work}/state`],
        [['admin', 'listen'], `127.0.0.1:${adminPort}`],
        [['log', 'format'], 'json'],
        [['plugins', 'auth-providers', 'dockerConfig'], false],
        ...values(work),
      ]),
    );
    const check = await runCli(['config', 'check', '--config', file], { timeoutMs: 20_000 });
    assert.equal(check.code, 0, `${profile}: ${check.stdout}${check.stderr}`);
    const daemon = await startDaemon({
      args: ['run', '--config', file],
      adminUrl: `http://127.0.0.1:${adminPort}`,
    });
    started.push(daemon);
    await waitReady(daemon, 60_000);
    const status = (await getStatus(daemon)) as unknown as StatusJson;
    assert.equal(status.ready, true);
    return { daemon, work, status };
  }

  const enabled = (s: StatusJson) => s.plugins.filter((p) => p.enabled).map((p) => p.id);
  const cacheHolds = async (cache: string, parts: string[]) => {
    for (const part of parts) assert.ok((await stat(join(cache, part, 'metadata.json'))).isFile(), part);
  };

  test('connected: syncs from upstream into the store, pushes to the private registry, fills the cache dir, mirrors VEX', async () => {
    const { daemon, work, status } = await runProfile('connected', (w) => [
      [['plugins', 'oci-sync', 'sources'], [`${upstream.host}/aquasec`]],
      [['plugins', 'oci-sync', 'destinations'], [`${registry.host}/trivy`]],
      [['plugins', 'vexhub-mirror', 'repositories', 0, 'url'], `${vex.url}/vexhub`],
      [['plugins', 'cache-populator', 'targets', 0, 'dir'], `${w}/cache`],
    ]);
    assert.deepEqual(enabled(status), ['auth-providers', 'oci-sync', 'vexhub-mirror', 'cache-populator']);
    for (const [repo, tag] of [
      ['trivy-db', '2'],
      ['trivy-java-db', '1'],
      ['trivy-checks', '2'],
    ]) {
      const res = await fetch(`${registry.url}/v2/trivy/${repo}/manifests/${tag}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(res.status, 200, `${repo}:${tag} pushed`);
      assert.equal(res.headers.get('docker-content-digest'), seeded.digests[`${repo}:${tag}`]);
    }
    await cacheHolds(join(work, 'cache'), ['db', 'java-db', 'policy']);
    assert.ok(await stat(join(work, 'cache/vex/repositories/vexhub/vex-repository.json')));
    assert.equal((await daemon.stop()).code, 0);
  });

  test('cache-only: a runner fills its cache dir from the private registry and serves nothing', async () => {
    const { daemon, work, status } = await runProfile('cache-only', (w) => [
      [['plugins', 'oci-sync', 'sources'], [`${runnerSource.host}/trivy`]],
      [['plugins', 'cache-populator', 'targets', 0, 'dir'], `${w}/cache`],
    ]);
    assert.deepEqual(enabled(status), ['auth-providers', 'oci-sync', 'cache-populator']);
    assert.deepEqual(status.jobs.map((j) => j.id).sort(), ['cache-populator', 'oci-sync']);
    await cacheHolds(join(work, 'cache'), ['db', 'java-db', 'policy']);
    const policy = JSON.parse(await readFile(join(work, 'cache/policy/metadata.json'), 'utf8'));
    assert.equal(policy.Digest, seeded.digests['trivy-checks:2']);
    const db = JSON.parse(await readFile(join(work, 'cache/db/metadata.json'), 'utf8'));
    assert.equal(db.Version, 2);
    assert.equal(
      daemon.logs().filter((l) => /serve listener/.test(String(l.msg))).length,
      0,
      'nothing served',
    );
    assert.equal((await daemon.stop()).code, 0);
  });

  test('vex-only: VEX validated and served, no databases synced or served', async () => {
    const servePort = await freePort();
    const { daemon, work, status } = await runProfile('vex-only', () => [
      [['serve', 'listen'], `127.0.0.1:${servePort}`],
      [['serve', 'publicUrl'], `http://127.0.0.1:${servePort}`],
      [['plugins', 'vexhub-mirror', 'repositories', 0, 'url'], `${vex.url}/vexhub`],
    ]);
    assert.deepEqual(enabled(status), ['auth-providers', 'vexhub-mirror']);
    assert.deepEqual(
      status.jobs.map((j) => j.id),
      ['vexhub-mirror'],
    );
    // What Trivy does with the repository.yaml that client-config prints: manifest, then the archive.
    const fetched = await trivyVexFetch(`http://127.0.0.1:${servePort}`, join(work, 'trivy'));
    assert.ok(fetched.archiveUrl.startsWith(`http://127.0.0.1:${servePort}/`), fetched.archiveUrl);
    assert.ok(fetched.index.packages.length > 0, 'the VEX index lists packages');
    const v2 = await fetch(`http://127.0.0.1:${servePort}/v2/trivy-db/manifests/2`);
    await v2.arrayBuffer();
    assert.equal(v2.status, 404, 'no /v2/ without oci-sync');
    assert.equal(await stat(join(work, 'state/oci')).catch(() => undefined), undefined, 'no store');
    assert.equal((await daemon.stop()).code, 0);
  });
});

// Trivy-aware serving, with the real Trivy v0.74: a mirror that has not synced yet answers 503 UNAVAILABLE,
// so the mirror-first repository list client-config prints falls back to the upstream and the scan
// succeeds; once synced, the same list is served by the mirror alone. And registry.mirrors as client-config
// prints it works for both of Trivy's default hosts (mirror.gcr.io/aquasec, ghcr.io/aquasecurity).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runJob } from './helpers/admin-api.js';
import { clientConfig } from './helpers/client-config.js';
import { scanProject } from './helpers/trivy-expect.js';
import { startTrivyWorld, type TrivyWorld } from './helpers/trivy-world.js';

/** The daemon's own requests to its source fail; Trivy's (User-Agent trivy/…) go through. */
function daemonRefused(req: { headers: Record<string, string | string[] | undefined> }) {
  const ua = String(req.headers['user-agent'] ?? '');
  return ua.startsWith('trivy/') ? undefined : ({ kind: 'status', status: 404 } as const);
}

describe('real Trivy: fall-back-friendly answers and registry.mirrors', { timeout: 900_000 }, () => {
  let world: TrivyWorld;
  before(async () => {
    world = await startTrivyWorld('trivy-fallback', { sourceFault: daemonRefused });
  });
  after(() => world?.stop());

  test('a mirror-first list falls back to the upstream while the mirror has not synced', async () => {
    // Not synced: what the config names answers 503 UNAVAILABLE, what it does not 404.
    const manifest = await fetch(`${world.serveUrl}/v2/aquasec/trivy-db/manifests/2`);
    assert.equal(manifest.status, 503);
    assert.ok(manifest.headers.get('retry-after'));
    assert.equal(((await manifest.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAVAILABLE');
    const unknown = await fetch(`${world.serveUrl}/v2/not-configured/manifests/2`);
    assert.equal(unknown.status, 404);
    await unknown.arrayBuffer();

    const cc = await clientConfig(world.config);
    const recipe = cc.oci.alternatives?.find((a) => a.title.startsWith('Mirror first'));
    assert.ok(recipe, JSON.stringify(cc.oci.alternatives));
    const args = cc.args(recipe);
    assert.ok(
      args.includes(`${world.serveHost}/trivy-db:2,${world.proxy!.host}/aquasec/trivy-db:2`),
      args.join(' '),
    );
    const home = await world.clientHome('fallback');
    const before = world.proxy!.log.length;
    const report = await scanProject(
      ['--cache-dir', join(home, 'cache'), ...args],
      { home, timeoutMs: 240_000 },
      { misconfig: false },
      'mirror-first list, mirror not synced',
    );
    assert.match(report.run.stderr, /Trying to download artifact from other repository/);
    // Both databases came from the upstream through the proxy.
    const asked = world.proxy!.log.slice(before).map((e) => e.path);
    for (const name of ['trivy-db', 'trivy-java-db'])
      assert.ok(
        asked.some((p) => p.startsWith(`/v2/aquasec/${name}/blobs/`)),
        `${name}: ${asked.join(' ')}`,
      );
  });

  test('once synced, the same list is served by the mirror alone', async () => {
    world.proxy!.setFault(undefined);
    const run = await runJob(world.daemon, 'oci-sync');
    assert.equal(run.status, 'success', JSON.stringify(run));
    const cc = await clientConfig(world.config);
    const recipe = cc.oci.alternatives?.find((a) => a.title.startsWith('Mirror first'));
    const home = await world.clientHome('fallback-synced');
    const before = world.proxy!.log.length;
    const report = await scanProject(
      ['--cache-dir', join(home, 'cache'), ...cc.args(recipe!)],
      { home },
      { misconfig: false },
      'mirror-first list, mirror synced',
    );
    assert.doesNotMatch(report.run.stderr, /other repository/);
    assert.deepEqual(world.proxy!.log.slice(before), [], 'Trivy asked the upstream');
  });

  for (const [host, path] of [
    ['mirror.gcr.io', 'aquasec'],
    ['ghcr.io', 'aquasecurity'],
  ] as const) {
    test(`registry.mirrors from client-config serves Trivy's ${host}/${path} repositories`, async () => {
      const cc = await clientConfig(world.config);
      const recipe = cc.oci.alternatives?.find((a) => a.title.startsWith('registry.mirrors'));
      assert.ok(recipe?.trivyYaml?.includes(`${host}:\n      - ${world.serveHost}\n`), recipe?.trivyYaml);
      const home = await world.clientHome(`mirrors-${path}`);
      const yaml = join(home, 'trivy.yaml');
      await writeFile(yaml, recipe!.trivyYaml!);
      // mirror.gcr.io is Trivy's first default; ghcr.io is named as users of its repositories do.
      const refs =
        host === 'ghcr.io'
          ? [
              '--db-repository',
              `${host}/${path}/trivy-db:2`,
              '--java-db-repository',
              `${host}/${path}/trivy-java-db:1`,
              '--checks-bundle-repository',
              `${host}/${path}/trivy-checks:2`,
            ]
          : [];
      const report = await scanProject(
        ['--config', yaml, '--cache-dir', join(home, 'cache'), ...refs],
        { home },
        {},
        `registry.mirrors for ${host}`,
      );
      assert.match(report.run.stderr, /Using the mirror registry/);
    });
  }
});

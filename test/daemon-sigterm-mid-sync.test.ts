// End to end: SIGTERM while the built daemon is in the middle of a long layer download (a throttled
// upstream): exit 0 within 10 s, no temp files left (set-up: helpers/daemon-lifecycle-suite.ts).
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateArtifact, pushArtifact } from '@trivy-mirror/fixtures';
import type { LifecycleWorld, StatusJson } from './helpers/daemon-lifecycle-suite.js';
import { getJson, startLifecycleWorld } from './helpers/daemon-lifecycle-suite.js';
import { eventually, freePort, startDaemon } from './helpers/daemon-process.js';
import { findTempLeftovers } from './helpers/temp-files.js';
import { startThrottleProxy, type ThrottleProxy } from './helpers/throttle-proxy.js';

describe('daemon lifecycle (built daemon, real registries)', { timeout: 85_000 }, () => {
  let world: LifecycleWorld;
  before(async () => (world = await startLifecycleWorld('lifecycle-long-sync')));
  after(() => world?.stop());

  test('SIGTERM during a long sync: exit 0 within 10 s, no temp files left', async () => {
    const work = join(world.dir, 'long');
    await mkdir(work, { recursive: true });
    // ~4 MB of incompressible layer behind a proxy that streams blobs at 512 KiB/s: about 8 s.
    const big = await generateArtifact({
      kind: 'trivy-db',
      dbBytes: 4 * 1024 * 1024,
      compressionRatio: 1,
      seed: 'e2e-long',
      workDir: join(work, 'seed'),
    });
    await pushArtifact(world.upstream.url, 'big/trivy-db', '2', big);
    const slow: ThrottleProxy = await startThrottleProxy({
      upstream: world.upstream.url,
      bytesPerSecond: 512 * 1024,
    });
    try {
      const adminPort = await freePort();
      const cfg = join(work, 'config.yaml');
      await writeFile(
        cfg,
        `stateDir: ${work}/state
admin: { listen: 127.0.0.1:${adminPort} }
log: { level: info, format: json }
plugins:
  auth-providers: { dockerConfig: false }
  oci-sync:
    sources: [${slow.host}/big]
    artifacts: [{ name: trivy-db, tags: ["2"] }]
  vexhub-mirror: { repositories: [{ name: vexhub, url: ${world.vex.url}/vexhub }] }
  cache-populator: { targets: [{ dir: ${work}/cache }] }
`,
      );
      const d = await startDaemon({
        args: ['run', '--config', cfg],
        adminUrl: `http://127.0.0.1:${adminPort}`,
      });
      world.started.push(d);
      // Wait until the layer download is under way and has written part of a temp file.
      await eventually(
        async () => slow.blobBodiesStarted > 0 && (await findTempLeftovers(join(work, 'state'))).length > 0,
        20_000,
        'a download in flight',
      );
      const status = await getJson<StatusJson>(`http://127.0.0.1:${adminPort}/status`);
      assert.equal(status.jobs.find((j) => j.id === 'oci-sync')?.running, true);
      const r = await d.stop('SIGTERM');
      assert.equal(r.code, 0, d.stdout().slice(-3000));
      assert.ok(r.ms < 10_000, `stopped in ${r.ms} ms`);
      assert.deepEqual(await findTempLeftovers(join(work, 'state'), join(work, 'cache')), []);
    } finally {
      await slow.stop();
    }
  });
});

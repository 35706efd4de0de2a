// The plugin in the daemon: job runs, real chokidar watching with repair, staleness -> sync.requested,
// health and metrics (the ContainerModule wiring: plugin-definition.test.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JobContext, WatchChange } from '@trivy-mirror/plugin-api';
import { watch } from 'chokidar';
import pino from 'pino';
import { Registry } from 'prom-client';
import { CachePopulatorConfigSchema, CachePopulatorService, readPartState } from '../src/index.js';
import { dbLayer, exists, markerOf, storeArtifact, tempDir, waitFor } from './helpers.js';
import { TestBus } from './test-bus.js';

const silent = pino({ level: 'silent' });
function jobContext(reason = 'test'): JobContext {
  return { signal: new AbortController().signal, logger: silent, reason, runId: 'r1' };
}

describe('cache-populator plugin', () => {
  let work: string;
  let store: string;
  let cacheDir: string;
  let bus: TestBus;
  let clockNow: Date;
  let service: CachePopulatorService;
  let registry: Registry;
  const nextUpdate = new Date(Date.now() + 3600_000);

  before(async () => {
    work = await tempDir('plugin');
    store = path.join(work, 'oci');
    cacheDir = path.join(work, 'cache');
    await storeArtifact(
      store,
      'trivy-db',
      '2',
      await dbLayer({ marker: 'd1', nextUpdate, dbBytes: 4 * 1024 ** 2 }),
    );
    await storeArtifact(store, 'trivy-java-db', '1', await dbLayer({ marker: 'j1', java: true, nextUpdate }));
    bus = new TestBus();
    clockNow = new Date();
    registry = new Registry();
    const config = CachePopulatorConfigSchema.parse({
      targets: [{ dir: cacheDir, include: ['db', 'java-db', 'checks', 'vex'], staleGraceMinutes: 30 }],
      checkIntervalSeconds: 3600,
    });
    await fs.mkdir(path.join(work, 'plugin'), { recursive: true });
    service = new CachePopulatorService(
      config,
      {
        id: 'cache-populator',
        stateDir: work,
        pluginDir: path.join(work, 'plugin'),
        logger: silent,
        mode: 'daemon',
      },
      {
        clock: { now: () => clockNow },
        events: bus,
        store: { layoutPath: (r) => path.join(store, r) },
        metrics: { registry },
      },
    );
    await service.start(new AbortController().signal);
  });
  after(async () => {
    await service.stop();
    await fs.rm(work, { recursive: true, force: true });
  });

  test('the job populates what the store holds; a missing artifact is skipped, not failed', async () => {
    const outcome = await service.job.run(jobContext('start'));
    assert.equal(outcome.status, 'success', outcome.summary);
    assert.match(outcome.summary, /db/);
    const parts = (outcome.details as { parts: { part: string; status: string }[] }).parts;
    assert.deepEqual(
      parts.map((p) => `${p.part}:${p.status}`),
      ['db:populated', 'java-db:populated', 'checks:skipped', 'vex:skipped'],
    );
    assert.equal(bus.count('cache.populated'), 1);
    assert.deepEqual(bus.emitted.find((e) => e.name === 'cache.populated')?.payload, {
      dir: cacheDir,
      parts: ['db', 'java-db'],
    });
    const again = await service.job.run(jobContext());
    assert.equal(again.status, 'skipped');
  });

  test('real chokidar: rm db/trivy.db and rm java-db/metadata.json are repaired from the store', async (t) => {
    // What the runtime's watcher does: chokidar with our ignored(), batched for debounceMs.
    const watcher = watch(service.cacheWatch.paths(), {
      ignoreInitial: true,
      ignored: (p: string) => service.cacheWatch.ignored?.(p) ?? false,
    });
    let pending: WatchChange[] = [];
    let timer: NodeJS.Timeout | undefined;
    let running = Promise.resolve();
    watcher.on('all', (event, p) => {
      pending.push({ event: event as WatchChange['event'], path: p });
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        const batch = pending;
        pending = [];
        running = running.then(() => service.cacheWatch.onChange(batch, new AbortController().signal));
      }, service.cacheWatch.debounceMs);
    });
    await new Promise<void>((r) => watcher.once('ready', () => r()));
    try {
      // Give the suppression window after the job's swaps time to pass.
      await new Promise((r) => setTimeout(r, 1600));
      const populatedBefore = bus.count('cache.populated');
      const t0 = Date.now();
      await fs.rm(path.join(cacheDir, 'db/trivy.db'));
      await waitFor(
        async () =>
          (await exists(path.join(cacheDir, 'db/trivy.db'))) && (await readPartState(cacheDir, 'db')),
        4000,
        'db repaired',
      );
      const ms = Date.now() - t0;
      assert.ok(ms < 4000, `repaired in ${ms} ms`);
      t.diagnostic(`rm db/trivy.db repaired in ${ms} ms`);
      assert.equal(markerOf(await fs.readFile(path.join(cacheDir, 'db/trivy.db'))), 'd1');

      const jBefore = JSON.parse(await fs.readFile(path.join(cacheDir, 'java-db/metadata.json'), 'utf8'));
      await fs.rm(path.join(cacheDir, 'java-db/metadata.json'));
      await waitFor(
        async () => exists(path.join(cacheDir, 'java-db/metadata.json')),
        4000,
        'java-db repaired',
      );
      const jmeta = JSON.parse(await fs.readFile(path.join(cacheDir, 'java-db/metadata.json'), 'utf8'));
      assert.equal(jmeta.Marker, 'j1');
      assert.equal(jmeta.DownloadedAt, jBefore.DownloadedAt, 'a repair is not a download');

      // Our own swaps do not start a repair loop.
      await new Promise((r) => setTimeout(r, 2500));
      await running;
      assert.equal(bus.count('cache.populated') - populatedBefore, 2);
    } finally {
      await watcher.close();
    }
  });

  test('the periodic check repairs without a watcher too (replaced file)', async () => {
    const db = path.join(cacheDir, 'db/trivy.db');
    await fs.rm(db);
    await fs.writeFile(db, 'not the db');
    await service.tick();
    assert.equal(markerOf(await fs.readFile(db)), 'd1');
  });

  test('the job finding a part damaged (before the watcher or the check) reports it as a repair', async () => {
    const lastRepair = async () =>
      (
        (await service.healthCheck.check()).status as {
          targets: { parts: Record<string, { lastRepair?: { reason?: string; repaired: boolean } }> }[];
        }
      ).targets[0].parts['java-db'].lastRepair;
    const before = await lastRepair();
    await fs.rm(path.join(cacheDir, 'java-db/trivy-java.db'));
    const outcome = await service.job.run(jobContext('schedule'));
    assert.equal(outcome.status, 'success', outcome.summary);
    assert.ok(await exists(path.join(cacheDir, 'java-db/trivy-java.db')));
    const after = await lastRepair();
    assert.notDeepEqual(after, before);
    assert.equal(after?.repaired, true);
    assert.match(after?.reason ?? '', /trivy-java\.db/);
  });

  test('stale: sync.requested once per stale period, /readyz not ready, age metric', async () => {
    let report = await service.healthCheck.check();
    assert.equal(report.ready, true, report.reason);
    const status = report.status as {
      targets: {
        dir: string;
        parts: Record<string, { version?: number; layerDigest?: string; nextUpdate?: string }>;
      }[];
    };
    assert.equal(status.targets[0].parts.db.version, 2);
    assert.ok(status.targets[0].parts.db.layerDigest?.startsWith('sha256:'));
    assert.equal(status.targets[0].parts.db.nextUpdate, nextUpdate.toISOString());

    clockNow = new Date(nextUpdate.getTime() + 31 * 60_000);
    await service.tick();
    await service.tick();
    const requests = bus.emitted.filter((e) => e.name === 'sync.requested');
    assert.equal(requests.length, 2, 'one for db, one for java-db');
    assert.deepEqual(requests.map((r) => (r.payload as { repository: string }).repository).sort(), [
      'trivy-db',
      'trivy-java-db',
    ]);
    report = await service.healthCheck.check();
    assert.equal(report.ready, false);
    assert.match(String(report.reason), /stale/);
    const metrics = await registry.metrics();
    assert.match(metrics, /trivy_mirror_cache_db_age_seconds\{dir="[^"]+",part="db"\} \d+/);

    // A fresh version arrives (artifact.stored -> job): ready again.
    await storeArtifact(
      store,
      'trivy-db',
      '2',
      await dbLayer({ marker: 'd2', nextUpdate: new Date(clockNow.getTime() + 6 * 3600_000) }),
    );
    await storeArtifact(
      store,
      'trivy-java-db',
      '1',
      await dbLayer({ marker: 'j2', java: true, nextUpdate: new Date(clockNow.getTime() + 86400_000) }),
    );
    bus.emit('artifact.stored', {
      repository: 'trivy-db',
      tag: '2',
      digest: 'sha256:x',
      layer: { digest: 'sha256:y', mediaType: 'm', size: 1 },
      layoutPath: path.join(store, 'trivy-db'),
      changed: true,
    });
    await service.job.run(jobContext('event:artifact.stored'));
    await service.tick();
    report = await service.healthCheck.check();
    assert.equal(report.ready, true, report.reason);
    assert.equal(markerOf(await fs.readFile(path.join(cacheDir, 'db/trivy.db'))), 'd2');
  });

  test('vex.stored: the payload is kept (also across restarts) and populated by the job', async () => {
    const content = path.join(work, 'vexsrc/vexhub-main');
    await fs.mkdir(path.join(content, 'pkg'), { recursive: true });
    await fs.writeFile(
      path.join(content, 'index.json'),
      JSON.stringify({ updated_at: '2026-01-01T00:00:00Z', packages: [] }),
    );
    const manifestPath = path.join(work, 'vexsrc/vex-repository.json');
    await fs.writeFile(
      manifestPath,
      JSON.stringify({
        name: 'VEX Hub',
        versions: [
          {
            spec_version: '0.1',
            locations: [{ url: 'http://m/x.tar.gz//vexhub-main' }],
            update_interval: '24h',
          },
        ],
      }),
    );
    bus.emit('vex.stored', {
      repository: 'vexhub',
      contentDir: content,
      manifestPath,
      archivePath: '/nonexistent',
      etag: '"e1"',
      updatedAt: new Date().toISOString(),
      changed: true,
    });
    await waitFor(async () => exists(path.join(work, 'plugin/vex-stored.json')), 2000, 'payload persisted');
    // Announced but not written yet: not ready.
    const pending = await service.healthCheck.check();
    assert.equal(pending.ready, false);
    assert.match(pending.reason ?? '', /vex-vexhub not populated yet/);
    const outcome = await service.job.run(jobContext('event:vex.stored'));
    assert.equal(outcome.status, 'success');
    assert.doesNotMatch((await service.healthCheck.check()).reason ?? '', /vex-vexhub not populated yet/);
    const cache = JSON.parse(
      await fs.readFile(path.join(cacheDir, 'vex/repositories/vexhub/cache.json'), 'utf8'),
    );
    assert.deepEqual(cache.ETags, { 'http://m/x.tar.gz//vexhub-main': '"e1"' });
    // rm -r of the repository dir (the link) is repaired too: right after our own swap the event is
    // deferred past the suppression window, then checked and repaired.
    await fs.rm(path.join(cacheDir, 'vex/repositories/vexhub'), { recursive: true });
    await service.cacheWatch.onChange(
      [{ event: 'unlink', path: path.join(cacheDir, 'vex/repositories/vexhub') }],
      new AbortController().signal,
    );
    await waitFor(
      async () => exists(path.join(cacheDir, 'vex/repositories/vexhub/0.1/index.json')),
      3000,
      'vex repaired',
    );
    assert.equal(
      JSON.parse(await fs.readFile(path.join(cacheDir, 'vex/repositories/vexhub/cache.json'), 'utf8')).ETags[
        'http://m/x.tar.gz//vexhub-main'
      ],
      '"e1"',
    );

    // A restarted daemon remembers the last vex.stored payload and can repopulate from it.
    await fs.rm(path.join(cacheDir, 'vex/repositories/vexhub'), { recursive: true });
    const config = CachePopulatorConfigSchema.parse({ targets: [{ dir: cacheDir, include: ['vex'] }] });
    const restarted = new CachePopulatorService(
      config,
      {
        id: 'cache-populator',
        stateDir: work,
        pluginDir: path.join(work, 'plugin'),
        logger: silent,
        mode: 'daemon',
      },
      {
        clock: { now: () => new Date() },
        events: new TestBus(),
        store: { layoutPath: (r) => path.join(store, r) },
      },
    );
    await restarted.start(new AbortController().signal);
    try {
      const o = await restarted.job.run(jobContext('start'));
      assert.equal(o.status, 'success', o.summary);
      assert.ok(await exists(path.join(cacheDir, 'vex/repositories/vexhub/0.1/index.json')));
    } finally {
      await restarted.stop();
    }
  });

  test('ignored() covers our own paths only', () => {
    assert.equal(service.ignored(path.join(cacheDir, '.trivy-mirror/db-x/trivy.db')), true);
    assert.equal(service.ignored(path.join(cacheDir, '.trivy-mirror-staging-db-1-abcd1234/trivy.db')), true);
    assert.equal(service.ignored(path.join(cacheDir, 'db/trivy.db')), false);
    assert.equal(service.ignored(path.join(cacheDir, 'fanal/fanal.db')), false);
    // Version dirs are watched at their real path (chokidar loses files behind a replaced symlink).
    const real = path.join(cacheDir, '.trivy-mirror/java-db-mb3k9x2a-0123abcd/trivy-java.db');
    assert.equal(service.ignored(path.join(cacheDir, '.trivy-mirror')), false);
    assert.equal(service.ignored(real), false);
    assert.equal(service.classify(real)?.key, 'java-db');
    assert.equal(
      service.classify(path.join(cacheDir, '.trivy-mirror/vex-vexhub-tgz-mb3k9x2a-0123abcd'))?.key,
      'vex-vexhub-tgz',
    );
    assert.equal(service.ignored(path.join(cacheDir, '.trivy-mirror/state-db.json')), true);
  });
});

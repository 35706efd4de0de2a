// The plugin definition: its strict schema with defaults, and a module that binds every contribution
// (one job with its triggers, one cache watch, one health check, one lifecycle) to one service.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import {
  ArtifactStore,
  CacheWatch,
  Clock,
  EventBus,
  HealthCheck,
  Job,
  LifecycleContribution,
  Metrics,
} from '@trivy-mirror/plugin-api';
import { Container } from 'inversify';
import pino from 'pino';
import { Registry } from 'prom-client';
import plugin from '../src/index.js';
import { tempDir } from './helpers.js';
import { TestBus } from './test-bus.js';

const silent = pino({ level: 'silent' });

test('the plugin definition: strict schema with defaults, and the module binds every contribution', async () => {
  assert.equal(plugin.id, 'cache-populator');
  const cfg = plugin.configSchema.parse({ targets: [{ dir: '/var/cache/trivy' }] });
  assert.deepEqual(cfg, {
    targets: [
      {
        dir: '/var/cache/trivy',
        include: ['db', 'java-db', 'checks', 'vex'],
        mode: 0o644,
        dirMode: 0o755,
        staleGraceMinutes: 60,
      },
    ],
    maxUnpackedBytes: 8 * 1024 ** 3,
    checkIntervalSeconds: 60,
  });
  assert.throws(() => plugin.configSchema.parse({ targets: [{ dir: '/x', bogus: 1 }] }));
  assert.throws(() => plugin.configSchema.parse({ targets: [{ dir: 'relative' }] }));
  assert.throws(() => plugin.configSchema.parse({ targets: [{ dir: '/x', mode: '999' }] }));

  const work = await tempDir('module');
  try {
    const container = new Container();
    container.bind(Clock).toConstantValue({ now: () => new Date() });
    container.bind(EventBus).toConstantValue(new TestBus());
    container.bind(ArtifactStore).toConstantValue({
      layoutPath: (r: string) => path.join(work, r),
      transport: undefined as never,
      repositories: async () => [],
    });
    container.bind(Metrics).toConstantValue({ registry: new Registry() });
    container.load(
      plugin.module(cfg, {
        id: 'cache-populator',
        stateDir: work,
        pluginDir: work,
        logger: silent,
        mode: 'daemon',
      }),
    );
    assert.equal(
      container
        .getAll<Job>(Job)
        .map((j) => j.id)
        .join(),
      'cache-populator',
    );
    const job = container.getAll<Job>(Job)[0];
    assert.deepEqual(job.triggers, ['artifact.stored', 'vex.stored']);
    assert.equal(job.runOnStart, true);
    assert.equal(job.schedule, undefined);
    assert.equal(container.getAll<CacheWatch>(CacheWatch).length, 1);
    assert.equal(container.getAll(HealthCheck).length, 1);
    assert.equal(container.getAll(LifecycleContribution).length, 1);
    // One service behind all contributions.
    assert.equal(container.getAll<CacheWatch>(CacheWatch)[0].paths()[0], '/var/cache/trivy');
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
});

// The runtime's stop and failed starts in-process: readiness 503 at stop, running jobs aborted, stop()
// bounded, stop during start-up, an invalid cron and failing start hooks.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { definePlugin, Job, LifecycleContribution, PluginError } from '@trivy-mirror/plugin-api';
import { ContainerModule } from 'inversify';
import { z } from 'zod';
import { createRuntime, StartupError } from '../src/index.js';
import { asLoaded, captureLogger, http, sleep, tempDir, testConfig, waitFor } from './helpers.js';

import { counterPlugin, failingPlugin, probe } from './runtime-test-plugins.js';

/** A started runtime with the counter plugin, stateDir `dir`, and a 3 s bound on stop(). */
async function startCounterRuntime(dir: string) {
  const plugins = [counterPlugin] as never[];
  const config = testConfig(dir, {}, plugins);
  const runtime = createRuntime({
    config,
    plugins: asLoaded(config, plugins),
    logger: captureLogger().logger,
    timeouts: { stopMs: 3000 },
  });
  await runtime.start();
  return runtime;
}

describe('runtime stop', () => {
  test('readiness goes 503 at stop, running jobs are aborted, stop() is bounded', async () => {
    const { dir, cleanup } = await tempDir('rt-stop-');
    try {
      const runtime = await startCounterRuntime(dir);
      probe.ready = true;
      const admin = runtime.adminUrl!;
      assert.equal((await http(`${admin}/readyz`)).status, 200);
      probe.gate = new Promise(() => {}); // never released: only the abort ends it
      const aborted = probe.aborted;
      probe.lingerMs = 400;
      const run = runtime.jobs.trigger('count', 'test');
      await sleep(20);
      const stopping = runtime.stop('test');
      assert.equal(runtime.phase, 'stopping');
      // The admin listener stays up while jobs wind down, answering 503.
      const r = await http(`${admin}/readyz`);
      assert.equal(r.status, 503);
      assert.deepEqual((r.json() as { reasons: string[] }).reasons.slice(0, 1), ['runtime is stopping']);
      const t = Date.now();
      const result = await stopping;
      assert.ok(Date.now() - t < 3000);
      assert.equal(result.clean, true, JSON.stringify(result.pending));
      assert.equal(probe.aborted, aborted + 1);
      assert.equal((await run).status, 'failure');
      assert.equal(runtime.phase, 'stopped');
      await assert.rejects(fetch(`${admin}/healthz`));
      probe.gate = undefined;
      probe.lingerMs = 0;
    } finally {
      await cleanup();
    }
  });

  test('a run that ends during the stop is in history.jsonl when stop() resolves', async () => {
    const { dir, cleanup } = await tempDir('rt-stop-history-');
    try {
      const runtime = await startCounterRuntime(dir);
      probe.gate = new Promise(() => {}); // only the stop's abort ends the run
      const run = runtime.jobs.trigger('count', 'test');
      await sleep(20);
      await runtime.stop('test');
      // nothing may be written into stateDir after stop(): the record is there already
      const lines = (await readFile(join(dir, 'history.jsonl'), 'utf8')).trim().split('\n');
      const last = JSON.parse(lines[lines.length - 1]) as { job: string; status: string };
      assert.deepEqual([last.job, last.status], ['count', 'failure']);
      assert.equal((await run).status, 'failure');
      probe.gate = undefined;
    } finally {
      await cleanup();
    }
  });

  test('stop() during start-up aborts the start hooks and ends stopped', async () => {
    const { dir, cleanup } = await tempDir('rt-abort-');
    try {
      let hookSignal: AbortSignal | undefined;
      const slow = definePlugin({
        id: 'slow',
        description: 'start hook waits for its signal',
        configSchema: z.object({}),
        module: () =>
          new ContainerModule(({ bind }) => {
            bind<LifecycleContribution>(LifecycleContribution).toConstantValue({
              id: 'slow-hook',
              start: (signal) =>
                new Promise<void>((_, reject) => {
                  hookSignal = signal;
                  signal.addEventListener('abort', () => reject(signal.reason));
                }),
            });
          }),
      });
      const plugins = [slow] as never[];
      const config = testConfig(dir, {}, plugins);
      const runtime = createRuntime({
        config,
        plugins: asLoaded(config, plugins),
        logger: captureLogger().logger,
      });
      const starting = runtime.start();
      await waitFor(() => hookSignal);
      const t = Date.now();
      const result = await runtime.stop('signal');
      assert.ok(Date.now() - t < 2000);
      assert.equal(result.clean, true);
      assert.equal(hookSignal?.aborted, true);
      await assert.rejects(starting);
      assert.equal(runtime.phase, 'stopped');
      assert.equal(runtime.adminUrl, undefined);
    } finally {
      await cleanup();
    }
  });

  test('an invalid cron schedule stops start-up before any start hook, naming plugin and job', async () => {
    const { dir, cleanup } = await tempDir('rt-cron-');
    try {
      const badCron = definePlugin({
        id: 'bad-cron',
        description: 'a job with a broken schedule',
        configSchema: z.object({}),
        module: () =>
          new ContainerModule(({ bind }) => {
            bind<Job>(Job).toConstantValue({
              id: 'broken-schedule',
              description: '',
              schedule: '61 * * * *',
              run: async () => ({ status: 'success', summary: '' }),
            });
          }),
      });
      const plugins = [counterPlugin, badCron] as never[];
      const config = testConfig(dir, {}, plugins);
      const runtime = createRuntime({
        config,
        plugins: asLoaded(config, plugins),
        logger: captureLogger().logger,
      });
      const hooks = probe.startedHooks;
      await assert.rejects(
        runtime.start(),
        /plugin bad-cron: job "broken-schedule": invalid cron expression "61 \* \* \* \*"/,
      );
      assert.equal(probe.startedHooks, hooks);
      assert.equal(runtime.phase, 'stopped');
    } finally {
      await cleanup();
    }
  });

  test('start hook failures from several plugins are thrown together with the plugin names', async () => {
    const { dir, cleanup } = await tempDir('rt-fail-');
    try {
      const plugins = [
        failingPlugin('alpha', 'no database'),
        counterPlugin,
        failingPlugin('beta', 'port taken'),
      ] as never[];
      const config = testConfig(dir, {}, plugins);
      const runtime = createRuntime({
        config,
        plugins: asLoaded(config, plugins),
        logger: captureLogger().logger,
      });
      const err = await runtime.start().then(
        () => assert.fail('start should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof StartupError);
      assert.ok(err instanceof PluginError);
      assert.deepEqual(
        err.errors.map((e) => e.plugin),
        ['alpha', 'beta'],
      );
      assert.match(err.message, /plugin alpha: start of alpha-hook failed: no database/);
      assert.match(err.message, /plugin beta: start of beta-hook failed: port taken/);
      assert.equal(runtime.phase, 'stopped');
      assert.equal(runtime.adminUrl, undefined, 'admin listener closed after a failed start');
    } finally {
      await cleanup();
    }
  });
});

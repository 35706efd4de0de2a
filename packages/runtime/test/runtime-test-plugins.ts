// The tiny plugins the runtime tests load in-process: a counting job with a health check, lifecycle
// hooks and a route (its state in `probe`), a plugin whose start fails, and a Prometheus text parser.
import assert from 'node:assert/strict';
import {
  definePlugin,
  HealthCheck,
  HttpRoute,
  Job,
  type JobContext,
  LifecycleContribution,
  RuntimeSettings,
} from '@trivy-mirror/plugin-api';
import { ContainerModule } from 'inversify';
import { z } from 'zod';

/** State the test plugin exposes to the test. */
export const probe = {
  runs: 0,
  ready: false,
  startedHooks: 0,
  stoppedHooks: 0,
  aborted: 0,
  /** Delay between the abort and the run giving up (to observe the stopping phase over HTTP). */
  lingerMs: 0,
  gate: undefined as Promise<void> | undefined,
  settings: undefined as RuntimeSettings | undefined,
};

export const counterPlugin = definePlugin({
  id: 'counter',
  description: 'counts job runs; has a health check, routes and hooks',
  configSchema: z.strictObject({ label: z.string().default('count') }),
  module: (config) =>
    new ContainerModule(({ bind }) => {
      bind(Job).toResolvedValue(
        (settings: RuntimeSettings) => {
          probe.settings = settings;
          return {
            id: config.label,
            description: 'counts runs',
            runOnStart: false,
            async run(ctx: JobContext) {
              probe.runs++;
              if (probe.gate) {
                await Promise.race([
                  probe.gate,
                  new Promise<void>((_, rej) =>
                    ctx.signal.addEventListener('abort', () => {
                      probe.aborted++;
                      setTimeout(() => rej(ctx.signal.reason), probe.lingerMs);
                    }),
                  ),
                ]);
              }
              return { status: 'success' as const, summary: `run ${probe.runs}`, bytes: 42 };
            },
          };
        },
        [RuntimeSettings],
      );
      bind(HealthCheck).toConstantValue({
        id: 'counter',
        check: () => ({
          ready: probe.ready,
          reason: probe.ready ? undefined : 'warming up',
          status: { runs: probe.runs },
        }),
      });
      bind<HttpRoute>(HttpRoute).toConstantValue({
        id: 'counter-admin',
        listener: 'admin',
        prefix: '/counter',
        handle: (_req, res) => {
          res.end(String(probe.runs));
          return true;
        },
      });
      bind(LifecycleContribution).toConstantValue({
        id: 'counter-hooks',
        async start() {
          probe.startedHooks++;
        },
        async stop() {
          probe.stoppedHooks++;
        },
      });
    }),
});

export function failingPlugin(id: string, message: string) {
  return definePlugin({
    id,
    description: 'fails to start',
    configSchema: z.object({}),
    module: () =>
      new ContainerModule(({ bind }) => {
        bind(LifecycleContribution).toConstantValue({
          id: `${id}-hook`,
          start: async () => {
            throw new Error(message);
          },
        });
      }),
  });
}

/** Parses Prometheus text: TYPE lines and samples. */
export function parseProm(text: string) {
  const types = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      types.set(t[1], t[2]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { types, samples };
}

// `config check` beyond the schema: builds the plugins' container without creating anything and runs
// every LifecycleContribution's check() (secret files readable, env vars set, htpasswd valid), so a
// config that `run` would refuse at start-up is refused by `config check` too, with every problem.
import { ConfigError, describeError, LifecycleContribution, type Logger } from '@trivy-mirror/plugin-api';
import { systemClock } from './clock.js';
import type { RuntimeConfig } from './config-schema.js';
import { buildContainer } from './container-factory.js';
import { JobRunnerService } from './job-runner.js';
import type { LoadedPlugin } from './plugin-loader.js';

export interface ConfigProblem {
  plugin: string;
  /** The YAML path concerned, when the plugin names one. */
  path?: string;
  message: string;
}

/** Runs the plugins' start-up checks; returns what `run` would stop on (empty: nothing). */
export async function checkPlugins(options: {
  config: RuntimeConfig;
  plugins: readonly LoadedPlugin[];
  logger: Logger;
  signal?: AbortSignal;
}): Promise<ConfigProblem[]> {
  const { logger } = options;
  const built = await buildContainer({
    config: options.config,
    plugins: options.plugins,
    logger,
    clock: systemClock,
    jobs: new JobRunnerService(logger, systemClock),
    mode: 'cli',
    createDirs: false,
  });
  const problems: ConfigProblem[] = [];
  const signal = options.signal ?? new AbortController().signal;
  try {
    for (const { value, plugin } of built.contributions<LifecycleContribution>(LifecycleContribution)) {
      if (!value.check) continue;
      try {
        await value.check(signal);
      } catch (err) {
        if (err instanceof ConfigError && err.issues.length > 0) {
          for (const i of err.issues) problems.push({ plugin, path: i.path, message: i.message });
        } else {
          problems.push({ plugin, message: `${value.id}: ${describeError(err)}` });
        }
      }
    }
  } finally {
    await built.container.unbindAllAsync().catch(() => undefined);
    await built.services.http.close().catch(() => undefined);
    await built.services.registry.close?.().catch(() => undefined);
  }
  return problems;
}

// `config check` beyond the schema, and the same pre-flight that `run` and a SIGHUP reload make before
// they start (or replace) anything: the state dir can be made, the TLS files are valid, the plugins'
// container builds without creating anything, the jobs are well-formed, and every LifecycleContribution's
// check() passes (secret files readable, env vars set, htpasswd valid, cache dirs creatable). So a config
// that `run` would refuse is refused by `config check` too, with every problem, its YAML path and line.
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { creatableDirProblem } from '@trivy-mirror/oci/fs';
import {
  ConfigError,
  describeError,
  Job,
  LifecycleContribution,
  type Logger,
  PluginError,
} from '@trivy-mirror/plugin-api';
import { systemClock } from '../services/clock.js';
import { type ConfigPath, formatConfigPath } from './config-loader.js';
import type { RuntimeConfig } from './config-schema.js';
import { buildContainer } from '../plugins/container-factory.js';
import { listenProblem } from '../http/listen-check.js';
import { JobRunnerService } from '../jobs/job-runner.js';
import type { LoadedPlugin } from '../plugins/plugin-loader.js';
import { jobProblems } from '../jobs/scheduler.js';
import { KeySigning } from '../services/signing-service.js';
import { trustProblems } from '../services/trust-service.js';

export interface ConfigProblem {
  /** The plugin concerned, or 'runtime'. */
  plugin: string;
  /** The YAML path concerned, when known. */
  path?: string;
  message: string;
  line?: number;
  column?: number;
}

export interface CheckOptions {
  config: RuntimeConfig;
  plugins: readonly LoadedPlugin[];
  logger: Logger;
  signal?: AbortSignal;
  /** Positions of YAML paths (from loadConfig), so problems name their line. */
  locate?: (path: ConfigPath) => { line: number; column: number } | undefined;
}

/** 'plugins.auth-providers.credentials[0].passwordFile' → ['plugins', 'auth-providers', 'credentials', 0, …] */
export function parseConfigPath(path: string): ConfigPath {
  const out: ConfigPath = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/** Why the runtime itself would refuse the config at start-up (listen addresses, state dir, TLS files). */
async function runtimeProblems(config: RuntimeConfig): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  const stateDir = await creatableDirProblem(config.stateDir);
  if (stateDir) problems.push({ plugin: 'runtime', path: 'stateDir', message: stateDir });
  for (const [path, listen] of [
    ['admin.listen', config.admin.listen],
    ['serve.listen', config.serve?.listen],
  ] as const) {
    const problem = listen === undefined ? undefined : await listenProblem(listen);
    if (problem) problems.push({ plugin: 'runtime', path, message: problem });
  }
  const signing = new KeySigning(config.signing, '');
  if (signing.enabled)
    await signing.load().catch((err: unknown) => {
      problems.push({ plugin: 'runtime', path: signing.configPath, message: describeError(err) });
    });
  for (const p of await trustProblems(config.trust)) problems.push({ plugin: 'runtime', ...p });
  const tls = config.serve?.tls;
  if (tls) {
    const read = async (what: 'cert' | 'key') =>
      readFile(tls[what]).catch((err: Error) => {
        problems.push({
          plugin: 'runtime',
          path: `serve.tls.${what}`,
          message: `cannot read ${tls[what]}: ${err.message}`,
        });
        return undefined;
      });
    const [cert, key] = [await read('cert'), await read('key')];
    if (cert && key) {
      try {
        createSecureContext({ cert, key });
      } catch (err) {
        problems.push({
          plugin: 'runtime',
          path: 'serve.tls',
          message: `cert and key are not a valid pair: ${describeError(err)}`,
        });
      }
    }
  }
  return problems;
}

/** Runs every start-up check; returns what `run` would stop on (empty: nothing). */
export async function checkPlugins(options: CheckOptions): Promise<ConfigProblem[]> {
  const { logger } = options;
  const problems = await runtimeProblems(options.config);
  let built: Awaited<ReturnType<typeof buildContainer>>;
  try {
    built = await buildContainer({
      config: options.config,
      plugins: options.plugins,
      logger,
      clock: systemClock,
      jobs: new JobRunnerService(logger, systemClock),
      mode: 'cli',
      createDirs: false,
    });
  } catch (err) {
    const errors = (err as { errors?: PluginError[] }).errors ?? [err];
    for (const e of errors)
      problems.push({ plugin: e instanceof PluginError ? e.plugin : 'runtime', message: describeError(e) });
    return locateAll(problems, options.locate);
  }
  const signal = options.signal ?? new AbortController().signal;
  try {
    const jobs = built.contributions<Job>(Job);
    const owner = (job: Job) => jobs.find((c) => c.value === job)?.plugin;
    for (const { value: job, plugin } of jobs) {
      for (const message of jobProblems([job], owner))
        problems.push({ plugin, message, path: schedulePath(options, plugin, job.schedule) });
    }
    // Across jobs: the same id twice.
    for (const message of jobProblems(
      jobs.map((c) => c.value),
      owner,
    ).filter((m) => / is contributed twice$/.test(m)))
      problems.push({ plugin: 'runtime', message });
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
  return locateAll(problems, options.locate);
}

/**
 * Where a plugin's config holds `schedule` (for plugins whose schema does not use cronExpression(), so
 * the scheduler is the first to see a bad one): the path of the first string equal to it in the section.
 */
function schedulePath(
  options: CheckOptions,
  plugin: string,
  schedule: string | undefined,
): string | undefined {
  if (schedule === undefined) return undefined;
  const loaded = options.plugins.find((p) => p.definition.id === plugin);
  if (!loaded) return undefined;
  const external = options.config.plugins.external.findIndex(
    (e) => e.module === loaded.source && (e.id === undefined || e.id === plugin),
  );
  const base: ConfigPath =
    loaded.source === 'builtin' ? ['plugins', plugin] : ['plugins', 'external', external, 'options'];
  const section =
    loaded.source === 'builtin'
      ? options.config.plugins[plugin]
      : options.config.plugins.external[external]?.options;
  const found = pathOfValue(section, schedule);
  return found && (loaded.source === 'builtin' || external >= 0)
    ? formatConfigPath([...base, ...found])
    : undefined;
}

function pathOfValue(node: unknown, value: string): ConfigPath | undefined {
  if (node === value) return [];
  if (!node || typeof node !== 'object') return undefined;
  for (const [k, v] of Array.isArray(node) ? node.entries() : Object.entries(node)) {
    const sub = pathOfValue(v, value);
    if (sub) return [k, ...sub];
  }
  return undefined;
}

function locateAll(problems: ConfigProblem[], locate: CheckOptions['locate']): ConfigProblem[] {
  if (!locate) return problems;
  return problems.map((p) => {
    const pos = p.path ? locate(parseConfigPath(p.path)) : undefined;
    return pos ? { ...p, ...pos } : p;
  });
}

/** One line per problem: `path (line L, column C): message`, or `plugin: message` without a path. */
export function formatConfigProblem(p: ConfigProblem): string {
  if (!p.path) return `${p.plugin}: ${p.message}`;
  const where = p.line !== undefined ? ` (line ${p.line}, column ${p.column})` : '';
  return `${p.path}${where}: ${p.message}`;
}

/** What `run` and a reload throw when the pre-flight finds problems. */
export function preflightError(source: string, problems: ConfigProblem[]): ConfigError {
  return new ConfigError(
    `config ${source}: start-up would fail:\n${problems.map((p) => `  - ${formatConfigProblem(p)}`).join('\n')}`,
    problems.map((p) => ({ path: p.path ?? p.plugin, message: p.message, line: p.line, column: p.column })),
  );
}

// Loads the builtin and external plugins, checks their shape and options, and reports every failure at once.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, describeError, PluginError, type PluginDefinition } from '@trivy-mirror/plugin-api';
import type { z } from 'zod';
import type { ConfigPath } from '../config/config-loader.js';
import { zodIssuesToConfigIssues } from '../config/config-loader.js';
import { isSwitchedOff, withoutSwitch } from './plugin-switch.js';
import {
  RESERVED_PLUGIN_IDS,
  type ExternalPluginConfig,
  type RuntimeConfig,
} from '../config/config-schema.js';

export interface LoadedPlugin {
  definition: PluginDefinition<unknown>;
  /** Validated config (defaults applied) passed to `definition.module`. */
  config: unknown;
  /** 'builtin' or the module specifier as written in the config. */
  source: string;
}

export interface LoadPluginsOptions {
  builtins: readonly PluginDefinition<unknown>[];
  external?: readonly ExternalPluginConfig[];
  /** Where relative module paths and npm names are resolved from: the config file's directory. */
  baseDir: string;
  /** The validated config: builtins take `config.plugins[id]`; without it they get their defaults. */
  config?: RuntimeConfig;
  /** Positions for option errors (from loadConfig). */
  locate?: (path: ConfigPath) => { line: number; column: number } | undefined;
}

/** Every plugin that failed, in one error. `errors` holds one PluginError per problem. */
export class PluginLoadError extends PluginError {
  readonly errors: PluginError[];
  constructor(errors: PluginError[]) {
    const names = [...new Set(errors.map((e) => e.plugin))].join(', ');
    super(
      names,
      `${errors.length} problem(s) loading plugins:\n${errors.map((e) => `  - ${e.message}`).join('\n')}`,
      errors.length === 1 ? errors[0] : new AggregateError(errors),
    );
    this.name = 'PluginLoadError';
    this.errors = errors;
  }
}

const ID_PATTERN = /^[a-z][a-z0-9-]*$/;

/** Why `value` is not a PluginDefinition, or undefined when it is one. */
export function pluginShapeProblems(value: unknown): string[] {
  if (value === null || typeof value !== 'object')
    return [`default export is ${value === null ? 'null' : typeof value}, not a plugin definition`];
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof v.id !== 'string' || !ID_PATTERN.test(v.id))
    problems.push('`id` must be a lowercase dash-separated string');
  if (typeof v.description !== 'string') problems.push('`description` must be a string');
  const schema = v.configSchema as { safeParse?: unknown } | undefined;
  if (!schema || typeof schema.safeParse !== 'function') problems.push('`configSchema` must be a zod schema');
  if (typeof v.module !== 'function')
    problems.push('`module` must be a function (config, context) => ContainerModule');
  return problems;
}

function isPathSpecifier(spec: string): boolean {
  return spec.startsWith('.') || spec.startsWith('/') || isAbsolute(spec) || spec.startsWith('file:');
}

function packageName(spec: string): { name: string; subpath: string } {
  const parts = spec.split('/');
  const n = spec.startsWith('@') ? 2 : 1;
  return { name: parts.slice(0, n).join('/'), subpath: parts.slice(n).join('/') };
}

/** Picks an ESM entry from package.json `exports`/`module`/`main` (require.resolve cannot: it uses 'require'). */
function entryFromPackage(dir: string, subpath: string): string | undefined {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const pick = (target: unknown): string | undefined => {
    if (typeof target === 'string') return target;
    if (Array.isArray(target)) return target.map(pick).find(Boolean);
    if (target && typeof target === 'object') {
      const t = target as Record<string, unknown>;
      for (const cond of ['import', 'node', 'default']) if (cond in t) return pick(t[cond]);
    }
    return undefined;
  };
  const key = subpath ? `./${subpath}` : '.';
  const exp = pkg.exports;
  if (exp !== undefined) {
    const map = exp as Record<string, unknown>;
    const isMap =
      typeof exp === 'object' &&
      exp !== null &&
      !Array.isArray(exp) &&
      Object.keys(map).some((k) => k.startsWith('.'));
    const target = isMap ? map[key] : key === '.' ? exp : undefined;
    const rel = pick(target);
    return rel ? join(dir, rel) : undefined;
  }
  if (subpath) return join(dir, subpath);
  const main = (pkg.module as string | undefined) ?? (pkg.main as string | undefined) ?? 'index.js';
  return join(dir, main);
}

/** Resolves a specifier to a URL to import: paths from baseDir, npm names from baseDir then cwd. */
export function resolvePluginModule(spec: string, baseDir: string): string {
  if (isPathSpecifier(spec)) {
    if (spec.startsWith('file:')) return spec;
    const path = resolve(baseDir, spec);
    // a plugin package's directory (as the Nx generator makes them): its package.json names the entry
    if (existsSync(join(path, 'package.json'))) {
      const entry = entryFromPackage(path, '');
      if (entry) return pathToFileURL(entry).href;
    }
    return pathToFileURL(path).href;
  }
  const { name, subpath } = packageName(spec);
  for (const start of [baseDir, process.cwd()]) {
    let dir = resolve(start);
    for (;;) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) {
        const entry = entryFromPackage(candidate, subpath);
        if (entry) return pathToFileURL(entry).href;
      }
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
    try {
      return pathToFileURL(createRequire(join(start, 'noop.js')).resolve(spec)).href;
    } catch {
      // try the next base
    }
  }
  throw new Error(`cannot find module "${spec}" from ${baseDir} or ${process.cwd()} (is it installed?)`);
}

function validateOptions(
  def: PluginDefinition<unknown>,
  value: unknown,
  path: ConfigPath,
  label: string,
  locate: LoadPluginsOptions['locate'],
): { config?: unknown; error?: PluginError } {
  const result = (def.configSchema as z.ZodType).safeParse(value ?? {});
  if (result.success) return { config: result.data };
  const schema = def.configSchema as z.ZodType;
  const issues = zodIssuesToConfigIssues(result.error.issues, (p) => locate?.(p), [], path, schema);
  const text = issues
    .map(
      (i) => `${i.path}${i.line !== undefined ? ` (line ${i.line}, column ${i.column})` : ''}: ${i.message}`,
    )
    .join('; ');
  // The cause carries the issues (path, line) without repeating zod's raw dump in the message.
  return { error: new PluginError(label, `invalid options: ${text}`, new ConfigError(text, issues)) };
}

export async function loadPlugins(options: LoadPluginsOptions): Promise<LoadedPlugin[]> {
  const errors: PluginError[] = [];
  const loaded: LoadedPlugin[] = [];
  const seen = new Map<string, string>();
  const claim = (id: string, source: string): boolean => {
    const prev = seen.get(id);
    if (prev !== undefined) {
      errors.push(new PluginError(id, `duplicate plugin id (from ${source}; already loaded from ${prev})`));
      return false;
    }
    if (RESERVED_PLUGIN_IDS.has(id)) {
      errors.push(new PluginError(id, `id "${id}" is reserved (from ${source})`));
      return false;
    }
    seen.set(id, source);
    return true;
  };

  for (const def of options.builtins) {
    const problems = pluginShapeProblems(def);
    if (problems.length > 0) {
      errors.push(new PluginError(String((def as { id?: unknown })?.id ?? '(builtin)'), problems.join('; ')));
      continue;
    }
    if (!claim(def.id, 'builtin')) continue;
    const section = options.config?.plugins[def.id];
    if (isSwitchedOff(section)) continue;
    if (options.config && section !== undefined) {
      loaded.push({ definition: def, config: withoutSwitch(section), source: 'builtin' });
      continue;
    }
    const v = validateOptions(def, undefined, ['plugins', def.id], def.id, options.locate);
    if (v.error) errors.push(v.error);
    else loaded.push({ definition: def, config: v.config, source: 'builtin' });
  }

  const external = options.external ?? options.config?.plugins.external ?? [];
  for (const [index, entry] of external.entries()) {
    if (entry.enabled === false) continue; // not even imported
    const label = entry.id ?? entry.module;
    let mod: Record<string, unknown>;
    try {
      const url = resolvePluginModule(entry.module, options.baseDir);
      mod = (await import(url)) as Record<string, unknown>;
    } catch (err) {
      errors.push(new PluginError(label, `cannot load module "${entry.module}": ${describeError(err)}`, err));
      continue;
    }
    const def = mod.default;
    if (def === undefined) {
      errors.push(
        new PluginError(
          label,
          `module "${entry.module}" has no default export (export default definePlugin({...}))`,
        ),
      );
      continue;
    }
    const problems = pluginShapeProblems(def);
    if (problems.length > 0) {
      errors.push(new PluginError(label, `module "${entry.module}" is not a plugin: ${problems.join('; ')}`));
      continue;
    }
    const definition = (entry.id ? { ...(def as object), id: entry.id } : def) as PluginDefinition<unknown>;
    if (entry.id !== undefined && !ID_PATTERN.test(entry.id)) {
      errors.push(new PluginError(label, `id "${entry.id}" must be lowercase and dash-separated`));
      continue;
    }
    const v = validateOptions(
      definition,
      entry.options,
      ['plugins', 'external', index, 'options'],
      definition.id,
      options.locate,
    );
    if (v.error) {
      errors.push(v.error);
      continue;
    }
    if (!claim(definition.id, entry.module)) continue;
    loaded.push({ definition, config: v.config, source: entry.module });
  }
  if (errors.length > 0) throw new PluginLoadError(errors);
  return loaded;
}

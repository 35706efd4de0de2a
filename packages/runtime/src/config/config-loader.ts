// Reads the YAML config, applies env overrides, validates it against the assembled schema and reports
// every problem with its YAML path and line:column.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, MirrorError, type PluginDefinition } from '@trivy-mirror/plugin-api';
import { type Document, isMap, isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { buildConfigSchema, DEFAULT_CONFIG_PATH, type RuntimeConfig } from './config-schema.js';
import { applyConfigAliases } from './config-aliases.js';
import { readConfigFile } from './config-file.js';
import { type AppliedOverride, applyEnvOverrides } from './env-overrides.js';
import { unknownKeyMessage } from './key-suggestion.js';
import { isLoopbackHost, parseListen } from '../http/listen-address.js';

export type ConfigPath = (string | number)[];

export interface ConfigIssue {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export interface LoadConfigOptions {
  /** `--config`; a missing named file is an error. */
  path?: string;
  /** Defaults to process.env; TRIVY_MIRROR_CONFIG names the file when `path` is not given. */
  env?: Record<string, string | undefined>;
  /** Every plugin whose section is validated (the builtins). */
  plugins: readonly PluginDefinition<unknown>[];
  /** Base for relative paths when there is no file (default process.cwd()). */
  cwd?: string;
}

export interface LoadedConfig {
  config: RuntimeConfig;
  /** Absolute path of the file read, or 'defaults' when the default file does not exist. */
  source: string;
  /** Directory relative paths in the config are resolved against. */
  baseDir: string;
  warnings: string[];
  /** Line/column of a YAML path in the file (for errors found later, e.g. external plugin options). */
  locate(path: ConfigPath): { line: number; column: number } | undefined;
}

/** 'plugins.oci-sync.artifacts[1].tags' */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(top level)' : out;
}

function makeLocator(doc: Document | undefined, lines: LineCounter | undefined) {
  return (path: ConfigPath, key?: string): { line: number; column: number } | undefined => {
    if (!doc || !lines) return undefined;
    // The deepest node that exists: a missing key is reported at its parent.
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (!isNode(node) || !node.range) continue;
      if (n === path.length && key !== undefined && isMap(node)) {
        const pair = node.items.find((p) => isNode(p.key) && (p.key as { value?: unknown }).value === key);
        const keyNode = pair?.key;
        if (isNode(keyNode) && keyNode.range) return toPos(lines.linePos(keyNode.range[0]));
      }
      return toPos(lines.linePos(node.range[0]));
    }
    return undefined;
  };
}

function toPos(p: { line: number; col: number }): { line: number; column: number } {
  return { line: p.line, column: p.col };
}

function issueText(i: ConfigIssue): string {
  const where = i.line !== undefined ? ` (line ${i.line}, column ${i.column})` : '';
  return `${i.path}${where}: ${i.message}`;
}

/** One ConfigError whose message lists every issue, one per line. */
export function configErrorFrom(source: string, issues: ConfigIssue[], cause?: unknown): ConfigError {
  const lines = issues.map((i) => `  - ${issueText(i)}`).join('\n');
  return new ConfigError(`config ${source} is invalid:\n${lines}`, issues, cause);
}

/** Maps zod issues to YAML paths and positions; env-overridden values name the variable instead. */
export function zodIssuesToConfigIssues(
  issues: readonly z.core.$ZodIssue[],
  locate: ReturnType<typeof makeLocator>,
  applied: AppliedOverride[] = [],
  prefix: ConfigPath = [],
  /** The schema the issues came from, for "did you mean" on unknown keys. */
  schema?: z.ZodType,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as ConfigPath)];
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    for (const key of keys) {
      const full = key === undefined ? path : [...path, key];
      const override = applied.find((a) => formatConfigPath(full).startsWith(formatConfigPath(a.path)));
      const message =
        key === undefined ? issue.message : unknownKeyMessage(key, schema, issue.path as ConfigPath);
      if (override) {
        out.push({ path: formatConfigPath(full), message: `${message} (from env ${override.env})` });
        continue;
      }
      const pos = locate(path, key);
      out.push({ path: formatConfigPath(full), message, line: pos?.line, column: pos?.column });
    }
  }
  return out;
}

function resolvePaths(config: RuntimeConfig, baseDir: string): RuntimeConfig {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const out: RuntimeConfig = { ...config, stateDir: abs(config.stateDir) };
  if (config.serve?.tls)
    out.serve = {
      ...config.serve,
      tls: { cert: abs(config.serve.tls.cert), key: abs(config.serve.tls.key) },
    };
  if (config.signing?.keyFile) out.signing = { ...config.signing, keyFile: abs(config.signing.keyFile) };
  if (config.trust) out.trust = { ...config.trust, keys: config.trust.keys.map(abs) };
  return out;
}

/** Non-fatal advice shown at start-up. */
export function configWarnings(config: RuntimeConfig): string[] {
  const warnings: string[] = [];
  try {
    const { host } = parseListen(config.admin.listen);
    if (!isLoopbackHost(host)) {
      warnings.push(
        `admin.listen ${config.admin.listen} is not a loopback address: /status, /metrics and job triggers are reachable from the network`,
      );
    }
  } catch {
    // The schema already rejected it.
  }
  const auth = config.plugins['auth-providers'] as { enabled?: boolean; serve?: unknown } | undefined;
  if (config.serve && auth?.enabled === false && auth.serve !== undefined) {
    warnings.push(
      'plugins.auth-providers is disabled: its serve section (access control) is not applied, the serving listener is open to every client',
    );
  }
  return warnings;
}

export async function loadConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const named = options.path ?? (env.TRIVY_MIRROR_CONFIG || undefined);
  const file = resolve(options.cwd ?? process.cwd(), named ?? DEFAULT_CONFIG_PATH);
  let text: string | undefined;
  if (named !== undefined || existsSync(file)) {
    try {
      text = await readConfigFile(file);
    } catch (err) {
      // Not "invalid": nothing was read. A missing file gets a way to make one.
      const how = options.path ? '--config' : 'TRIVY_MIRROR_CONFIG';
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new MirrorError(
          'CONFIG_MISSING',
          `config file ${file} (named by ${how}) does not exist; write one with: trivy-mirror config example > ${file}`,
        );
      throw new MirrorError(
        'CONFIG_UNREADABLE',
        `config file ${file} (named by ${how}) cannot be read: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  const source = text === undefined ? 'defaults' : file;
  const baseDir = text === undefined ? (options.cwd ?? process.cwd()) : dirname(file);

  let doc: Document | undefined;
  let lines: LineCounter | undefined;
  let raw: Record<string, unknown> = {};
  if (text !== undefined) {
    lines = new LineCounter();
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      const issues = doc.errors.map((e) => {
        const pos = lines!.linePos(e.pos[0]);
        return { path: '(yaml)', message: e.message.split('\n')[0], line: pos.line, column: pos.col };
      });
      throw configErrorFrom(file, issues);
    }
    const js = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (js === null || js === undefined) raw = {};
    else if (typeof js === 'object' && !Array.isArray(js)) raw = js as Record<string, unknown>;
    else
      throw configErrorFrom(file, [
        { path: '(top level)', message: 'expected a mapping', line: 1, column: 1 },
      ]);
  }
  const locate = makeLocator(doc, lines);
  const schema = buildConfigSchema(options.plugins);
  const { value, applied } = applyEnvOverrides(applyConfigAliases(raw, source), env, schema);
  const result = schema.safeParse(value);
  if (!result.success)
    throw configErrorFrom(source, zodIssuesToConfigIssues(result.error.issues, locate, applied, [], schema));
  const config = resolvePaths(result.data, baseDir);
  return { config, source, baseDir, warnings: configWarnings(config), locate: (p) => locate(p) };
}

/** Parses a config object that did not come from a file (demo, tests). */
export function parseConfig(
  value: Record<string, unknown>,
  plugins: readonly PluginDefinition<unknown>[],
  baseDir = process.cwd(),
): RuntimeConfig {
  const schema = buildConfigSchema(plugins);
  const result = schema.safeParse(applyConfigAliases(value, '(object)'));
  if (!result.success)
    throw configErrorFrom(
      '(object)',
      zodIssuesToConfigIssues(result.error.issues, () => undefined, [], [], schema),
    );
  return resolvePaths(result.data, baseDir);
}

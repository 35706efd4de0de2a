// Shared helpers for the runtime tests: temp dirs, quiet loggers, tiny plugins, HTTP calls.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { PluginDefinition } from '@trivy-mirror/plugin-api';
import {
  createLogger,
  type LoadedPlugin,
  parseConfig,
  type RuntimeConfig,
  type RuntimeLogger,
} from '../src/index.js';

export async function tempDir(prefix = 'rt-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A logger whose JSON lines are kept in `lines` (level 'debug' to see everything). */
export function captureLogger(level: 'debug' | 'info' = 'info'): {
  logger: RuntimeLogger;
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: createLogger({ level, format: 'json', destination: stream }), lines };
}

export function testConfig(
  stateDir: string,
  extra: Record<string, unknown> = {},
  plugins: PluginDefinition<unknown>[] = [],
): RuntimeConfig {
  return parseConfig(
    { stateDir, admin: { listen: '127.0.0.1:0' }, log: { level: 'silent' }, ...extra },
    plugins,
  );
}

export function asLoaded(config: RuntimeConfig, defs: PluginDefinition<unknown>[]): LoadedPlugin[] {
  return defs.map((definition) => ({
    definition,
    config: config.plugins[definition.id] ?? {},
    source: 'builtin',
  }));
}

export async function http(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; text: string; json: () => unknown }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns truthy or `timeoutMs` passes. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 3000,
  stepMs = 25,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}

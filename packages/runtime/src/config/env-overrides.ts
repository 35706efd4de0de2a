// Environment overrides applied to the raw YAML object before validation.
//
//   TRIVY_MIRROR_STATE_DIR=/srv/mirror          -> stateDir
//   TRIVY_MIRROR_ADMIN_LISTEN=127.0.0.1:9181    -> admin.listen
//   TRIVY_MIRROR_SERVE_LISTEN=0.0.0.0:8443      -> serve.listen
//   TRIVY_MIRROR_LOG_LEVEL=debug                -> log.level
//   TRIVY_MIRROR__A__B=value                    -> a.b (generic; double underscore separates keys)
//
// Generic keys match existing/known keys ignoring case, '-' and '_' (TRIVY_MIRROR__PLUGINS__OCI_SYNC__SCHEDULE
// -> plugins.oci-sync.schedule); a numeric segment indexes an array. Generic values are parsed as YAML
// (`true`, `3`, `[a, b]`), so quote a value to force a string. The four named variables take the value verbatim.
// TRIVY_MIRROR_CONFIG names the config file and is not an override.
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { knownKeysAt } from './schema-keys.js';

export const NAMED_ENV_OVERRIDES: Record<string, string[]> = {
  TRIVY_MIRROR_STATE_DIR: ['stateDir'],
  TRIVY_MIRROR_ADMIN_LISTEN: ['admin', 'listen'],
  TRIVY_MIRROR_SERVE_LISTEN: ['serve', 'listen'],
  TRIVY_MIRROR_LOG_LEVEL: ['log', 'level'],
};

const GENERIC_PREFIX = 'TRIVY_MIRROR__';

export interface AppliedOverride {
  env: string;
  path: (string | number)[];
}

function normalise(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setPath(root: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let cur: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    const container = cur as Record<string | number, unknown>;
    if (last) {
      container[seg] = value;
      return;
    }
    let next = container[seg];
    if (!isRecord(next) && !Array.isArray(next)) {
      next = typeof path[i + 1] === 'number' ? [] : {};
      container[seg] = next;
    }
    cur = next as Record<string, unknown> | unknown[];
  }
}

/** Returns a copy of `raw` with the overrides from `env` applied, and which ones were applied. */
export function applyEnvOverrides(
  raw: Record<string, unknown>,
  env: Record<string, string | undefined>,
  schema?: z.ZodType,
): { value: Record<string, unknown>; applied: AppliedOverride[] } {
  const value = structuredClone(raw);
  const applied: AppliedOverride[] = [];
  for (const [name, path] of Object.entries(NAMED_ENV_OVERRIDES)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    setPath(value, path, v);
    applied.push({ env: name, path });
  }
  const generic = Object.keys(env)
    .filter((k) => k.startsWith(GENERIC_PREFIX) && env[k] !== undefined)
    .sort();
  for (const name of generic) {
    const segments = name.slice(GENERIC_PREFIX.length).split('__').filter(Boolean);
    if (segments.length === 0) continue;
    const path: (string | number)[] = [];
    let cur: unknown = value;
    for (const seg of segments) {
      if (Array.isArray(cur) && /^\d+$/.test(seg)) {
        path.push(Number(seg));
        cur = cur[Number(seg)];
        continue;
      }
      const candidates = [
        ...(isRecord(cur) ? Object.keys(cur) : []),
        ...(schema ? knownKeysAt(schema, path) : []),
      ];
      const key = candidates.find((c) => normalise(c) === normalise(seg)) ?? seg;
      path.push(key);
      cur = isRecord(cur) ? cur[key] : undefined;
    }
    const text = env[name] as string;
    let parsed: unknown = text;
    try {
      parsed = parseYaml(text);
    } catch {
      parsed = text;
    }
    setPath(value, path, parsed ?? text);
    applied.push({ env: name, path });
  }
  return { value, applied };
}

// The keys a zod schema accepts in the mapping at a config path (best effort over zod's definitions):
// for "did you mean" on unknown keys and for matching env override names to keys.
import type { z } from 'zod';

type Def = { type?: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; element?: z.ZodType };

function defOf(schema: unknown): Def & Record<string, unknown> {
  return ((schema as { _zod?: { def?: unknown } })?._zod?.def ?? {}) as Def & Record<string, unknown>;
}

/** Object schemas reachable at `path` (through defaults, optionals, arrays, unions and pipes). */
function objectsAt(schema: unknown, path: readonly PropertyKey[]): Def[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
    case 'readonly':
    case 'catch':
      return objectsAt(def.innerType, path);
    case 'pipe':
      return objectsAt(def.in, path);
    case 'union':
      return (def.options as unknown[]).flatMap((o) => objectsAt(o, path));
    case 'array':
      return typeof path[0] === 'number' ? objectsAt(def.element, path.slice(1)) : [];
    case 'object':
      if (path.length === 0) return [def];
      return typeof path[0] === 'string' && def.shape?.[path[0]]
        ? objectsAt(def.shape[path[0]], path.slice(1))
        : [];
    default:
      return [];
  }
}

/** The keys the schema accepts in the mapping at `path` (empty when unknown). */
export function knownKeysAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  return [...new Set(objectsAt(schema, path).flatMap((d) => Object.keys(d.shape ?? {})))];
}

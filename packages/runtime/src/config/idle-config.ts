// A config that does nothing at all (every plugin disabled or idle: no artifacts, no repositories, no
// targets) is valid, but almost certainly not what was meant: `config check` and `run` warn about it.
import type { LoadedPlugin } from '../plugins/plugin-loader.js';

/** The warning for a do-nothing config, or undefined when some plugin has work. */
export function idleConfigWarning(plugins: readonly LoadedPlugin[]): string | undefined {
  const reasons: string[] = [];
  for (const p of plugins) {
    const why = p.definition.idleReason?.(p.config);
    if (why === undefined) return undefined;
    reasons.push(`${p.definition.id}: ${why}`);
  }
  const detail = reasons.length > 0 ? ` (${reasons.join('; ')})` : '';
  return `this config does nothing: every plugin is disabled or has nothing to do${detail}`;
}

// The schema half of `enabled: false` (plugins/plugin-switch.ts has the rest): the switch added to each
// plugin's section. Its own file, because the config schema needs it and plugin-switch.ts needs the
// config's type.
import { z } from 'zod';

export const ENABLED_DESCRIPTION = 'false: the plugin is not loaded (its section is still validated)';

/** The plugin's section schema with an `enabled` switch (plugins whose schema is not an object keep theirs). */
export function withEnabledSwitch(schema: z.ZodType): z.ZodType {
  const def = (schema as unknown as { _zod: { def: { type: string } } })._zod.def;
  if (def.type !== 'object') return schema;
  return (schema as unknown as z.ZodObject).safeExtend({
    enabled: z.boolean().optional().describe(ENABLED_DESCRIPTION),
  });
}

// The `plugins.cache-populator` config section: which Trivy cache dirs to keep, with which parts.
import { z } from 'zod';

import { CACHE_PARTS } from './cache-parts.js';

export { CACHE_PARTS, type CachePart } from './cache-parts.js';

const octalMode = z
  .string()
  .regex(/^0?[0-7]{3,4}$/, 'an octal file mode such as "0644"')
  .transform((s) => Number.parseInt(s, 8));

const owner = z.union([z.string().min(1), z.number().int().nonnegative()]);

export const TargetSchema = z
  .object({
    /** Absolute path of a Trivy cache dir (what `trivy --cache-dir` gets). */
    dir: z
      .string()
      .min(1)
      .refine((d) => d.startsWith('/'), 'must be an absolute path'),
    include: z
      .array(z.enum(CACHE_PARTS))
      .min(1)
      .default([...CACHE_PARTS]),
    /** trivy-checks tag: '2' for current Trivy, '1' for older releases. Default: the newest held. */
    checksTag: z
      .string()
      .regex(/^[0-9]+$/)
      .optional(),
    user: owner.optional(),
    group: owner.optional(),
    mode: octalMode.default(0o644),
    dirMode: octalMode.default(0o755),
    /** How long past NextUpdate a part may be before it counts as stale. */
    staleGraceMinutes: z.number().int().nonnegative().default(60),
  })
  .strict();

export const CachePopulatorConfigSchema = z
  .object({
    targets: z.array(TargetSchema).default([]),
    /** Cap on the decompressed size of one layer (gzip bombs); default 8 GiB. */
    maxUnpackedBytes: z
      .number()
      .int()
      .positive()
      .default(8 * 1024 ** 3),
    checkIntervalSeconds: z.number().int().positive().default(60),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.targets.forEach((t, i) => {
      const key = t.dir.replace(/\/+$/, '');
      if (seen.has(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', i, 'dir'],
          message: `duplicate target dir ${t.dir}`,
        });
      }
      seen.add(key);
    });
  });

export type CachePopulatorConfig = z.output<typeof CachePopulatorConfigSchema>;
export type CacheTarget = z.output<typeof TargetSchema>;

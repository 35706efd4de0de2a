// Options of the example plugin (under `plugins.external[].options`).
import { z } from 'zod';

export const webhookConfigSchema = z
  .object({
    url: z.url().describe('Where to POST the JSON event'),
    events: z.array(z.enum(['artifact.stored', 'vex.stored'])).default(['artifact.stored', 'vex.stored']),
    onlyChanges: z.boolean().default(true).describe('Only post when content changed'),
    timeoutMs: z.number().int().positive().default(5000),
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export type WebhookConfig = z.infer<typeof webhookConfigSchema>;

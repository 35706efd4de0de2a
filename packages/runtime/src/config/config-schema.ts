// The one config schema: the runtime's top-level keys plus every plugin's `configSchema` under `plugins.<id>`.
import type { PluginDefinition } from '@trivy-mirror/plugin-api';
import { z } from 'zod';
// Installs the scheduler's cron validation for the plugins' `cronExpression()` fields.
import '../jobs/cron-validation.js';
import { withEnabledSwitch } from './enabled-switch.js';
import { proxyUrlProblem } from './proxy-url-check.js';

export const DEFAULT_CONFIG_PATH = '/etc/trivy-mirror/config.yaml';
export const DEFAULT_STATE_DIR = '/var/lib/trivy-mirror';
export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:9180';

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, 'expected HOST:PORT (IPv6 as [ADDR]:PORT)')
  .refine((l) => Number(l.slice(l.lastIndexOf(':') + 1)) <= 65535, 'the port must be 0 to 65535');

/** A proxy URL (credentials allowed, never echoed) or "none". */
const proxyUrl = () =>
  z
    .string()
    .min(1)
    .check((ctx) => {
      const problem = proxyUrlProblem(ctx.value);
      if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
    });

export const hostOptionsSchema = z.strictObject({
  host: z.string().min(1).describe('host[:port] as it appears in references'),
  plainHttp: z.boolean().optional().describe('use http:// (loopback hosts may always use it)'),
  caFile: z.string().optional().describe('PEM file with extra CA certificates for this host'),
  insecureSkipVerify: z.boolean().optional().describe('skip TLS verification (discouraged)'),
  maxConcurrency: z.number().int().positive().optional().describe('concurrent requests to this host'),
  timeoutSeconds: z
    .number()
    .positive()
    .max(3600)
    .optional()
    .describe('time to response headers and maximum body silence (default 60 s registries, 30/120 s HTTP)'),
  proxy: proxyUrl()
    .optional()
    .describe('forward proxy for this host (http://[USER:PASSWORD@]HOST:PORT), or "none" to go direct'),
});

export const proxySchema = z
  .union([
    z.literal('none'),
    z.strictObject({
      url: proxyUrl()
        .optional()
        .describe('forward proxy for every host (overrides HTTPS_PROXY/HTTP_PROXY); "none": always direct'),
      noProxy: z
        .union([z.string(), z.array(z.string())])
        .optional()
        .describe('hosts that go direct (overrides NO_PROXY): host, .domain, host:port, IP, CIDR, *'),
    }),
  ])
  .optional()
  .describe('outbound proxy; without it HTTPS_PROXY, HTTP_PROXY and NO_PROXY apply as in Go tools');

export const externalPluginSchema = z.strictObject({
  module: z.string().min(1).describe('npm package name or path (relative to the config file)'),
  options: z.record(z.string(), z.unknown()).optional().describe("the plugin's own config section"),
  id: z.string().optional().describe("overrides the plugin's id (load one module twice)"),
  enabled: z.boolean().optional().describe('false: the module is not imported, the plugin not loaded'),
});
export type ExternalPluginConfig = z.infer<typeof externalPluginSchema>;

const baseShape = {
  stateDir: z.string().min(1).default(DEFAULT_STATE_DIR).describe('store (OCI layouts), VEX copies, state'),
  admin: z
    .strictObject({
      listen: listen.default(DEFAULT_ADMIN_LISTEN).describe('/healthz /readyz /status /metrics /jobs'),
      allowedHosts: z
        .array(z.string().regex(/^[A-Za-z0-9._-]+$/, 'a host name, without port'))
        .optional()
        .describe('Host names it answers besides the listen address and localhost (421 otherwise)'),
    })
    .prefault({}),
  serve: z
    .strictObject({
      listen: listen.describe('serving listener for Trivy clients'),
      publicUrl: z.url().optional().describe('how clients reach it (default derived from listen)'),
      tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
      statusPage: z.boolean().default(false).describe('also serve the status page at / (behind serve auth)'),
    })
    .optional(),
  registries: z.array(hostOptionsSchema).default([]),
  proxy: proxySchema,
  tls: z
    .strictObject({
      systemCa: z
        .boolean()
        .default(true)
        .describe("trust the system's CA store (SSL_CERT_FILE/SSL_CERT_DIR) beside Node's bundled roots"),
    })
    .prefault({})
    .describe('outbound TLS trust'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      format: z.enum(['auto', 'json', 'pretty']).default('auto'),
    })
    .prefault({}),
  signing: z
    .strictObject({
      keyFile: z
        .string()
        .min(1)
        .optional()
        .describe(
          'PEM ECDSA P-256 private key (PKCS#8 or SEC1, unencrypted); mode 0600, owned by the service user',
        ),
      keyCredential: z
        .string()
        .regex(/^[^/]+$/, 'a systemd credential name (no /)')
        .optional()
        .describe('the key as a systemd credential: $CREDENTIALS_DIRECTORY/NAME (LoadCredential=NAME:FILE)'),
    })
    .refine((s) => (s.keyFile === undefined) !== (s.keyCredential === undefined), {
      message: 'expected keyFile or keyCredential (one of them)',
    })
    .optional()
    .describe('sign every version the mirror admits, as cosign signs with a key (off without it)'),
  trust: z
    .strictObject({
      keys: z
        .array(z.string().min(1))
        .min(1)
        .describe('PEM ECDSA P-256 public keys (SPKI, e.g. cosign.pub) whose signatures are trusted'),
      require: z
        .boolean()
        .default(false)
        .describe('admit (import, serve) only versions signed by one of the keys; otherwise only report'),
    })
    .optional()
    .describe("check each imported or served version's cosign signature against these keys"),
};

/** The parsed config. Plugin sections are `unknown` here; each plugin's module gets its own typed view. */
export interface RuntimeConfig {
  stateDir: string;
  admin: { listen: string; allowedHosts?: string[] };
  serve?: { listen: string; publicUrl?: string; tls?: { cert: string; key: string }; statusPage?: boolean };
  registries: z.infer<typeof hostOptionsSchema>[];
  proxy?: z.infer<typeof proxySchema>;
  tls?: { systemCa?: boolean };
  log: {
    level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
    format: 'auto' | 'json' | 'pretty';
  };
  signing?: { keyFile?: string; keyCredential?: string };
  trust?: { keys: string[]; require: boolean };
  plugins: { external: ExternalPluginConfig[] } & Record<string, unknown>;
}

/** Reserved keys under `plugins:` that no plugin may take as its id. */
export const RESERVED_PLUGIN_IDS = new Set(['external']);

/** Builds the schema; a missing plugin section is parsed as `{}` so the plugin's defaults apply. */
export function buildConfigSchema(plugins: readonly PluginDefinition<unknown>[]): z.ZodType<RuntimeConfig> {
  const pluginShape: Record<string, z.ZodType> = {};
  for (const p of plugins) {
    if (RESERVED_PLUGIN_IDS.has(p.id)) throw new Error(`plugin id "${p.id}" is reserved`);
    pluginShape[p.id] = withEnabledSwitch(p.configSchema as z.ZodType)
      .prefault({})
      .describe(p.description);
  }
  pluginShape.external = z
    .array(externalPluginSchema)
    .default([])
    .describe('plugins loaded from other modules');
  return z.strictObject({
    ...baseShape,
    plugins: z.strictObject(pluginShape).prefault({}),
  }) as unknown as z.ZodType<RuntimeConfig>;
}

/** An external plugin as `plugins.external` names it, with its loaded definition. */
export interface ExternalPluginSchema {
  module: string;
  definition: PluginDefinition<unknown>;
}

/**
 * The JSON Schema of the whole config file (what `config schema` prints). With `external`, each
 * `plugins.external` entry naming one of those modules gets that plugin's own schema for `options`.
 */
export function configJsonSchema(
  plugins: readonly PluginDefinition<unknown>[],
  external: readonly ExternalPluginSchema[] = [],
): Record<string, unknown> {
  let config = buildConfigSchema(plugins) as unknown as z.ZodObject;
  if (external.length > 0) {
    const entries = external.map((e) =>
      externalPluginSchema
        .extend({
          module: z.literal(e.module).describe(e.definition.description),
          options: (e.definition.configSchema as z.ZodType).optional(),
        })
        .describe(`${e.definition.id}: ${e.definition.description}`),
    );
    const pluginsShape = (config.shape.plugins as z.ZodType as z.ZodPrefault<z.ZodObject>).unwrap();
    config = config.extend({
      plugins: pluginsShape
        .extend({
          external: z
            .array(z.union([...entries, externalPluginSchema]))
            .default([])
            .describe('plugins loaded from other modules'),
        })
        .prefault({}),
    });
  }
  const schema = z.toJSONSchema(config, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: 'trivy-mirror configuration' };
}

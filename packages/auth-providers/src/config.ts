// The auth-providers config section: where credentials come from and who may use the serving listener.
// Secrets are only ever referenced (file, env var, systemd credential), never written into the YAML.
import { z } from 'zod';

export const PROVIDER_KINDS = ['static', 'docker-config', 'anonymous'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

const nonEmpty = z.string().min(1);

/** Keys that would carry a secret inline; rejected with a message that names the alternatives. */
const INLINE_SECRET_KEYS = {
  password: 'passwordFile, passwordEnv or passwordCredential',
  token: 'tokenFile, tokenEnv or tokenCredential',
  identityToken: 'tokenFile, tokenEnv or tokenCredential',
  secret: 'passwordFile, passwordEnv or passwordCredential',
} as const;

const credentialEntrySchema = z
  .strictObject({
    /** Registry host[:port] (exact match; docker.io aliases are normalised). */
    host: nonEmpty.optional(),
    /** URL prefix for HTTP sources (VEX repositories). */
    url: nonEmpty.optional(),
    /** The user name is not a secret and may be inline. */
    username: nonEmpty.optional(),
    usernameEnv: nonEmpty.optional(),
    usernameFile: nonEmpty.optional(),
    usernameCredential: nonEmpty.optional(),
    passwordFile: nonEmpty.optional(),
    passwordEnv: nonEmpty.optional(),
    passwordCredential: nonEmpty.optional(),
    tokenFile: nonEmpty.optional(),
    tokenEnv: nonEmpty.optional(),
    tokenCredential: nonEmpty.optional(),
    // Accepted by the shape only so that the refinement can answer with a useful message.
    password: z.unknown().optional(),
    token: z.unknown().optional(),
    identityToken: z.unknown().optional(),
    secret: z.unknown().optional(),
  })
  .superRefine((entry, ctx) => {
    for (const [key, alternatives] of Object.entries(INLINE_SECRET_KEYS)) {
      if ((entry as Record<string, unknown>)[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `secrets are never accepted inline in the config: use ${alternatives}`,
        });
      }
    }
    if ((entry.host === undefined) === (entry.url === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'give exactly one of host (registry) or url (HTTP source)',
      });
    }
    if (
      entry.host !== undefined &&
      !/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(entry.host)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['host'],
        message: 'must be host[:port] without scheme or path (use url: for HTTP sources)',
      });
    }
    if (entry.url !== undefined) {
      let ok = false;
      try {
        const u = new URL(entry.url);
        ok = (u.protocol === 'https:' || u.protocol === 'http:') && u.username === '' && u.password === '';
      } catch {
        ok = false;
      }
      if (!ok) {
        ctx.addIssue({
          code: 'custom',
          path: ['url'],
          message: 'must be an http(s) URL prefix without user info',
        });
      }
    }
    const count = (...keys: (keyof typeof entry)[]) => keys.filter((k) => entry[k] !== undefined).length;
    const users = count('username', 'usernameEnv', 'usernameFile', 'usernameCredential');
    const passwords = count('passwordFile', 'passwordEnv', 'passwordCredential');
    const tokens = count('tokenFile', 'tokenEnv', 'tokenCredential');
    if (users > 1) ctx.addIssue({ code: 'custom', path: [], message: 'give at most one username source' });
    if (passwords > 1)
      ctx.addIssue({ code: 'custom', path: [], message: 'give at most one password source' });
    if (tokens > 1) ctx.addIssue({ code: 'custom', path: [], message: 'give at most one token source' });
    if (tokens === 1 && (users > 0 || passwords > 0)) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'give either a token or a username and password, not both',
      });
    } else if (tokens === 0 && (users !== 1 || passwords !== 1)) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message:
          'give a username (or usernameEnv/usernameFile) and a passwordFile/passwordEnv/passwordCredential, or a tokenFile/tokenEnv/tokenCredential',
      });
    }
  });
export type CredentialEntry = z.infer<typeof credentialEntrySchema>;

const serveTokenSchema = z
  .strictObject({
    file: nonEmpty.optional(),
    env: nonEmpty.optional(),
    credential: nonEmpty.optional(),
    token: z.unknown().optional(),
    value: z.unknown().optional(),
  })
  .superRefine((entry, ctx) => {
    for (const key of ['token', 'value'] as const) {
      if (entry[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'tokens are never accepted inline in the config: use file, env or credential',
        });
      }
    }
    const sources = [entry.file, entry.env, entry.credential].filter((v) => v !== undefined).length;
    if (sources !== 1)
      ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of file, env or credential' });
  });
export type ServeTokenEntry = z.infer<typeof serveTokenSchema>;

const serveSchema = z
  .strictObject({
    /** htpasswd file with bcrypt entries ($2y$/$2a$/$2b$), re-read when it changes. */
    htpasswd: nonEmpty.optional(),
    /** Static bearer tokens, read from files, env vars or systemd credentials. */
    tokens: z.array(serveTokenSchema).default([]),
    /** Realm of the Basic challenge. */
    realm: nonEmpty.default('trivy-mirror'),
  })
  .superRefine((serve, ctx) => {
    if (serve.htpasswd === undefined && serve.tokens.length === 0) {
      ctx.addIssue({ code: 'custom', path: [], message: 'give htpasswd and/or tokens (or remove serve)' });
    }
  });
export type ServeAuthConfig = z.infer<typeof serveSchema>;

const dockerConfigSchema = z.union([
  z.boolean(),
  z.strictObject({
    /** A docker config.json to use instead of $DOCKER_CONFIG/config.json or ~/.docker/config.json. */
    path: nonEmpty.optional(),
    /** Time limit for one `docker-credential-NAME get` (default 5000 ms). */
    helperTimeoutMs: z.number().int().min(100).max(120_000).optional(),
  }),
]);

export const authProvidersConfigSchema = z.strictObject({
  /** Providers in the order they are asked; the first defined answer wins. */
  order: z
    .array(z.enum(PROVIDER_KINDS))
    .min(1)
    .refine((order) => new Set(order).size === order.length, 'each provider may appear once')
    .default(['static', 'docker-config', 'anonymous']),
  dockerConfig: dockerConfigSchema.default(true),
  credentials: z.array(credentialEntrySchema).default([]),
  serve: serveSchema.optional(),
});
export type AuthProvidersConfig = z.infer<typeof authProvidersConfigSchema>;

/** Prefix of every YAML path this plugin names in errors. */
export const CONFIG_PATH = 'plugins.auth-providers';

export const EXAMPLE_CONFIG = `auth-providers:
  order: [static, docker-config, anonymous]   # asked in this order; first answer wins
  dockerConfig: true                          # $DOCKER_CONFIG/config.json or ~/.docker/config.json,
                                              # $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json
  credentials: []                             # secrets only by reference, never inline, e.g.
  #  - { host: ghcr.io, username: bot, passwordFile: /run/credentials/trivy-mirror/ghcr }
  #  - { host: registry.internal:5000, usernameEnv: REG_USER, passwordEnv: REG_PASS }
  #  - { url: https://github.com/, tokenEnv: GITHUB_TOKEN }
  # serve:                                    # who may use the serving listener
  #   htpasswd: /etc/trivy-mirror/htpasswd    # bcrypt entries only (htpasswd -B)
  #   tokens: [{ file: /etc/trivy-mirror/client-token }]
  # config check (and start-up) read every file and env var named here: they must exist.
`;

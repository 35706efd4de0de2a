// The `plugins.vexhub-mirror` config section: zod schema (strict) with the defaults from DESIGN.md.
import { cronExpression } from '@trivy-mirror/plugin-api';
import { z } from 'zod';

export const DEFAULT_SCHEDULE = '43 3 * * *';
export const DEFAULT_REPOSITORY_URL = 'https://github.com/aquasecurity/vexhub';
export const MiB = 1024 * 1024;

// Used in URL paths, file names and Trivy's cache dir (vex/repositories/NAME).
const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'expected an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''));

export const repositoryConfigSchema = z
  .strictObject({
    /** Also the client-side name: Trivy caches it under vex/repositories/NAME. */
    name: z.string().regex(NAME_RE, 'expected a lowercase name such as vexhub'),
    /**
     * Where versions come from: 'url' (default) downloads from `url`; 'import' (an air-gapped inside
     * daemon) takes them only from `trivy-mirror import DIR`, with the same validation, and never
     * connects anywhere.
     */
    source: z.enum(['url', 'import']).default('url'),
    /** `https://github.com/OWNER/REPO` or any `https://HOST[/PREFIX]` serving /.well-known/vex-repository.json. */
    url: httpUrl.optional(),
    /** How `url` is read; default: 'github' for github.com, else 'spec'. */
    kind: z.enum(['github', 'spec']).optional(),
    /** Branch of a GitHub repository (its root holds vex-repository.json). */
    branch: z.string().min(1).default('main'),
    /** Bearer token for the source; prefer credentials from auth-providers (CredentialStore). */
    token: z
      .strictObject({ file: z.string().min(1).optional(), env: z.string().min(1).optional() })
      .refine((t) => t.file !== undefined || t.env !== undefined, 'token needs file or env')
      .optional(),
    /** Archive format fetched from GitHub (spec repositories use the manifest's location). */
    archive: z.enum(['zip', 'tar.gz']).default('zip'),
    maxArchiveBytes: z
      .number()
      .int()
      .positive()
      .default(256 * MiB),
    maxUnpackedBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * MiB),
    maxEntries: z.number().int().positive().default(200_000),
    /**
     * Take an upstream archive whose index.json updated_at is older than the served one's (default:
     * refused, ROLLBACK_REFUSED). `trivy-mirror sync --allow-rollback` sets it for one run.
     */
    allowRollback: z.boolean().optional(),
  })
  .superRefine((repo, ctx) => {
    if (repo.source === 'url' && repo.url === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'url is required (or source: import for a repository filled only by `trivy-mirror import`)',
      });
    if (repo.source === 'import' && repo.url !== undefined)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'a repository with source: import has no url' });
  });
export type RepositoryConfig = z.infer<typeof repositoryConfigSchema>;

const pathPrefix = z
  .string()
  .regex(/^(\/[A-Za-z0-9._-]+)*\/?$/, 'expected a URL path such as /vex')
  .transform((p) => p.replace(/\/+$/, ''));

export const vexhubMirrorConfigSchema = z.strictObject({
  schedule: cronExpression().default(DEFAULT_SCHEDULE),
  /** An empty list is valid: nothing to mirror, the plugin is idle (and ready). */
  repositories: z
    .array(repositoryConfigSchema)
    .default(() => [repositoryConfigSchema.parse({ name: 'vexhub', url: DEFAULT_REPOSITORY_URL })])
    .refine(
      (list) => new Set(list.map((r) => r.name)).size === list.length,
      'repository names must be unique',
    ),
  /** Optional directory served by nginx (or any static server): manifests and archives, written atomically. */
  publishDir: z.string().min(1).optional(),
  /** Base URL under which publishDir is served; default: the daemon's publicUrl. */
  publishBaseUrl: httpUrl.optional(),
  /**
   * Answer If-None-Match with 304 and send ETags. Trivy v0.54–v0.72 wipe their VEX cache on a 304 (fixed
   * in v0.73): they never get either, by their User-Agent. Off by default all the same, for clients whose
   * User-Agent a proxy rewrites.
   */
  etag: z.boolean().default(false),
  /** URL path under which archives are served: <pathPrefix>/<name>/archive.zip. */
  pathPrefix: pathPrefix.default('/vex'),
  /** A replaced version stays on disk this long, so downloads that started before the swap finish. */
  graceMinutes: z.number().min(0).default(60),
  /** Advanced (tests, GitHub Enterprise): where archives of 'github' repositories come from. */
  githubBaseUrl: httpUrl.default('https://github.com'),
  /** Advanced: where vex-repository.json of 'github' repositories comes from. */
  githubRawBaseUrl: httpUrl.default('https://raw.githubusercontent.com'),
});
export type VexhubMirrorConfig = z.infer<typeof vexhubMirrorConfigSchema>;

export const EXAMPLE_CONFIG = `vexhub-mirror:
  schedule: "${DEFAULT_SCHEDULE}"        # cron; also runs at start
  repositories:
    - name: vexhub                       # clients cache it as vex/repositories/vexhub
      url: ${DEFAULT_REPOSITORY_URL}     # or any https://HOST[/PREFIX] with /.well-known/vex-repository.json
      # archive: zip                     # GitHub archive format: zip (default) or tar.gz
    # - { name: vexhub, source: import }  # air-gapped inside: versions only from \`trivy-mirror import DIR\`
  # publishDir: /srv/www/vex             # also write manifests and archives here for nginx
  # etag: false                          # keep off while clients older than Trivy v0.73 exist
  pathPrefix: /vex
`;

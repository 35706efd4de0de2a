// The `plugins.oci-sync` config section: zod schema (strict) with the defaults from DESIGN.md.
import { cronExpression } from '@trivy-mirror/plugin-api';
import { z } from 'zod';
import { ARTIFACT_RULES, ruleFor } from './sync/artifact-rules.js';

// HOST[:PORT][/PATH]: a registry plus an optional repository prefix, no tag or digest.
const REPO_PREFIX_RE = /^[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const NAME_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

const repoPrefix = z
  .string()
  .regex(REPO_PREFIX_RE, 'expected HOST[:PORT][/PATH] such as mirror.gcr.io/aquasec (no tag, no scheme)');

export const artifactConfigSchema = z.strictObject({
  /** Repository name under each source and destination, and in the store (e.g. 'trivy-db'). */
  name: z
    .string()
    .regex(NAME_RE, 'expected a repository name such as trivy-db')
    .refine((name) => ruleFor(name) !== undefined, {
      message: `expected one of ${Object.keys(ARTIFACT_RULES).join(', ')} (optionally under a path such as aquasec/)`,
    }),
  tags: z.array(z.string().regex(TAG_RE, 'expected a tag such as 2')).min(1),
  /** Overrides the plugin-wide `sources` for this artifact (tried in order). */
  sources: z.array(repoPrefix).min(1).optional(),
  /**
   * Take a db/java-db from upstream even when its metadata.json UpdatedAt is older than the served
   * one's (default: refused, ROLLBACK_REFUSED). `trivy-mirror sync --allow-rollback` sets it for one run.
   */
  allowRollback: z.boolean().optional(),
});
export type ArtifactConfig = z.infer<typeof artifactConfigSchema>;

/** The repository paths of Trivy's default registries: mirror.gcr.io/aquasec and ghcr.io/aquasecurity. */
export const DEFAULT_SERVE_PREFIXES = ['aquasec', 'aquasecurity'] as const;
const servePrefix = z
  .string()
  .regex(
    /^(?:[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*)?$/,
    'expected a repository path such as aquasec',
  );

export const DEFAULT_SCHEDULE = '17 */6 * * *';
export const DEFAULT_SOURCES = ['mirror.gcr.io/aquasec', 'ghcr.io/aquasecurity'];
export const DEFAULT_ARTIFACTS: ArtifactConfig[] = [
  { name: 'trivy-db', tags: ['2'] },
  { name: 'trivy-java-db', tags: ['1'] },
  { name: 'trivy-checks', tags: ['1', '2'] },
];

export const ociSyncConfigSchema = z.strictObject({
  schedule: cronExpression().default(DEFAULT_SCHEDULE),
  /**
   * Upstream registries, tried in order. Empty: no upstream (an air-gapped "inside" daemon); the
   * store then changes only through `trivy-mirror import`, and the job only checks what it holds.
   */
  sources: z.array(repoPrefix).default(() => [...DEFAULT_SOURCES]),
  /** `[]` is valid: nothing to sync, the plugin is idle (and ready). */
  artifacts: z
    .array(artifactConfigSchema)
    .default(() => DEFAULT_ARTIFACTS.map((a) => ({ ...a, tags: [...a.tags] })))
    .refine((list) => new Set(list.map((a) => a.name)).size === list.length, 'artifact names must be unique'),
  /** Registries to push to, as DEST/NAME:TAG (e.g. registry.internal:5000/trivy). */
  destinations: z.array(repoPrefix).default(() => []),
  /** Versions kept per tag in the store (the current one included). */
  keepVersions: z.number().int().min(1).max(100).default(3),
  serve: z
    .strictObject({
      /** Serve the store read-only under /v2/ on the serve listener. */
      enabled: z.boolean().default(true),
      /**
       * Also serve each repository under these prefixes (one or a list): 'aquasec' → /v2/aquasec/trivy-db/….
       * The default serves both upstream paths (mirror.gcr.io/aquasec, ghcr.io/aquasecurity), so Trivy's
       * `registry.mirrors` works for both default hosts. Plain names (/v2/trivy-db/…) are always served.
       */
      prefix: z
        .union([servePrefix, z.array(servePrefix)])
        .default([...DEFAULT_SERVE_PREFIXES])
        .transform((p) => [...new Set([p].flat().filter((x) => x !== ''))]),
    })
    .default({ enabled: true, prefix: [...DEFAULT_SERVE_PREFIXES] }),
  /** Unreferenced blobs stay on disk this long, so downloads that started before a swap finish. */
  blobGraceMinutes: z.number().min(0).default(30),
  /** Artifact/tag pairs synced at once. */
  concurrency: z.number().int().min(1).max(16).default(2),
  /**
   * Stream a download to the destinations that lack the blob while it is written to the store
   * (one transfer instead of two). A destination that fails or falls behind is cut off and pushed
   * from the store afterwards; false always pushes from the store.
   */
  pushDuringDownload: z.boolean().default(true),
  /**
   * A stored version counts as stale (a warning in /status and the log, metric
   * trivy_mirror_artifact_stale) once its NextUpdate (trivy-checks: its import, or the last
   * successful sync) lies this far in the past. Staleness never triggers a sync without an upstream.
   */
  staleAfterHours: z.number().min(0).default(72),
  /**
   * Also publish the store as a static registry tree here (v2/NAME/manifests, v2/NAME/blobs) for
   * nginx or a CDN (deploy/nginx/trivy-mirror-registry.conf); updated after every stored version.
   */
  publishRegistryDir: z.string().min(1).optional(),
});
export type OciSyncConfig = z.infer<typeof ociSyncConfigSchema>;

export const exampleConfig = `oci-sync:
  schedule: "17 */6 * * *"                  # cron; also runs at start and on sync.requested
  sources: [mirror.gcr.io/aquasec, ghcr.io/aquasecurity]   # tried in order (429/5xx/BLOB_UNKNOWN/network → next)
  artifacts:
    - { name: trivy-db, tags: ["2"] }
    - { name: trivy-java-db, tags: ["1"] }
    - { name: trivy-checks, tags: ["1", "2"] }
  destinations: []                          # e.g. [registry.internal:5000/trivy] → DEST/NAME:TAG
  keepVersions: 3                           # versions kept per tag in the store
  serve: { enabled: true, prefix: [aquasec, aquasecurity] }   # read-only /v2/NAME, also /v2/PREFIX/NAME (registry.mirrors)
  blobGraceMinutes: 30                      # unreferenced blobs kept this long for running downloads
  concurrency: 2
  pushDuringDownload: true                  # stream downloads to destinations while storing them
  staleAfterHours: 72                       # warn (and metric) once NextUpdate is this far past
  # An upstream db/java-db older (metadata.json UpdatedAt) than the served one is refused; to take it:
  #   - { name: trivy-db, tags: ["2"], allowRollback: true }   (or once: trivy-mirror sync --allow-rollback)
  # Air-gapped inside: sources: [] (no upstream); the store comes from \`trivy-mirror import DIR\`.
  # publishRegistryDir: /srv/trivy-mirror/registry   # static registry tree for nginx/a CDN
`;

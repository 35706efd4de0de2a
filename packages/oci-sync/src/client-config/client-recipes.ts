// The other ways client-config offers to reach the mirror, as Trivy v0.74 decides them (pkg/oci
// Artifacts.Download, pkg/remote tryWithMirrors): a repository list with the mirror first and upstream
// as fallback, and registry.mirrors in trivy.yaml, which keeps the default repositories' paths.
import type { ClientConfigRecipe } from '@trivy-mirror/plugin-api';
import type { OciSyncConfig } from '../config.js';

/** Trivy's default registries for its databases and checks, with the path each serves them under. */
export const TRIVY_DEFAULT_HOSTS = [
  { host: 'mirror.gcr.io', path: 'aquasec' },
  { host: 'ghcr.io', path: 'aquasecurity' },
] as const;

/** Artifacts whose flag takes a list (v0.56+); the checks bundle takes one reference. */
const LIST_FLAGS: Record<string, { flag: string; env: string }> = {
  'trivy-db': { flag: '--db-repository', env: 'TRIVY_DB_REPOSITORY' },
  'trivy-java-db': { flag: '--java-db-repository', env: 'TRIVY_JAVA_DB_REPOSITORY' },
};

/** `--db-repository MIRROR/trivy-db:2,SOURCE1/trivy-db:2,…`: undefined when there is no upstream (inside). */
export function fallbackListRecipe(
  config: OciSyncConfig,
  mirrorRefs: { name: string; tag: string; ref: string }[],
): ClientConfigRecipe | undefined {
  const flags: string[] = [];
  const env: Record<string, string> = {};
  for (const { name, tag, ref } of mirrorRefs) {
    const names = LIST_FLAGS[name];
    const sources = config.artifacts.find((a) => a.name === name)?.sources ?? config.sources;
    if (!names || sources.length === 0) continue;
    const list = [ref, ...sources.map((s) => `${s}/${name}:${tag}`)].join(',');
    flags.push(`${names.flag} ${list}`);
    env[names.env] = list;
  }
  if (flags.length === 0) return undefined;
  return {
    title: 'Mirror first, upstream as fallback (Trivy v0.56 or later)',
    flags,
    env,
    notes: [
      'Trivy tries the next repository only on 408, 429 and 5xx answers or the codes UNAVAILABLE, TOOMANYREQUESTS, ' +
        'UNKNOWN and BLOB_UNKNOWN; a 404, 401, TLS error or refused connection stops the scan. The mirror answers ' +
        '503 UNAVAILABLE for what it is configured to hold but has not synced yet, so the list falls back then.',
      '--checks-bundle-repository takes one reference: if it fails, Trivy uses the checks embedded in it.',
    ],
  };
}

/** registry.mirrors for both default hosts, where the mirror serves their repository paths. */
export function registryMirrorsRecipe(
  config: OciSyncConfig,
  host: string,
  insecure: boolean,
): ClientConfigRecipe {
  const title = 'registry.mirrors in trivy.yaml (Trivy v0.59 or later)';
  const served = TRIVY_DEFAULT_HOSTS.filter((h) => config.serve.prefix.includes(h.path));
  const missing = TRIVY_DEFAULT_HOSTS.filter((h) => !config.serve.prefix.includes(h.path));
  const notes: string[] = [];
  if (missing.length > 0) {
    notes.push(
      `Trivy keeps the repository path when it asks a mirror: add ${missing.map((h) => h.path).join(' and ')} ` +
        `to oci-sync serve.prefix for ${missing.map((h) => h.host).join(' and ')}.`,
    );
  }
  if (served.length === 0) return { title, notes };
  const lines = ['registry:', '  mirrors:'];
  for (const h of served) lines.push(`    ${h.host}:`, `      - ${host}`);
  if (insecure) lines.push('insecure: true');
  notes.unshift(
    'No repository flags: Trivy asks the mirror first for its default repositories ' +
      `(${served.map((h) => `${h.host}/${h.path}/…`).join(', ')}) and the upstream host on any error from it. ` +
      'There is no flag or environment variable for it; it also applies to images Trivy pulls from these hosts.',
  );
  return { title, trivyYaml: `${lines.join('\n')}\n`, notes };
}

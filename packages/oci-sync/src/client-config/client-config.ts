// `trivy-mirror client-config` lines for oci-sync: where Trivy clients get their databases.
// Flag, env and trivy.yaml names checked against Trivy's pkg/flag (db_flags.go, misconf_flags.go).
import type { ClientConfigRecipe, ClientConfigSection } from '@trivy-mirror/plugin-api';
import { fallbackListRecipe, registryMirrorsRecipe } from './client-recipes.js';
import type { OciSyncConfig } from '../config.js';

const FLAGS: Record<string, { flag: string; env: string; yamlPath: [string, string] }> = {
  'trivy-db': { flag: '--db-repository', env: 'TRIVY_DB_REPOSITORY', yamlPath: ['db', 'repository'] },
  'trivy-java-db': {
    flag: '--java-db-repository',
    env: 'TRIVY_JAVA_DB_REPOSITORY',
    yamlPath: ['db', 'java-repository'],
  },
  'trivy-checks': {
    flag: '--checks-bundle-repository',
    env: 'TRIVY_CHECKS_BUNDLE_REPOSITORY',
    yamlPath: ['misconfiguration', 'checks-bundle-repository'],
  },
};

/** The tag a client should use: the newest numeric tag configured (checks: 2 for current Trivy). */
function clientTag(tags: string[]): string {
  const numeric = tags.filter((t) => /^\d+$/.test(t)).sort((a, b) => Number(b) - Number(a));
  return numeric[0] ?? tags[0];
}

export function renderClientConfig(
  config: OciSyncConfig,
  options: { publicUrl?: string },
): ClientConfigSection {
  const notes: string[] = [];
  let base: string | undefined;
  let insecure = false;
  if (config.serve.enabled && options.publicUrl) {
    const url = new URL(options.publicUrl);
    // Plain names: served whatever serve.prefix holds.
    base = url.host;
    insecure = url.protocol === 'http:';
    if (url.pathname !== '/' && url.pathname !== '') {
      notes.push(`The registry is served at the root of ${url.host} (/v2/), whatever the public URL's path.`);
    }
  } else if (config.destinations.length > 0) {
    base = config.destinations[0];
    notes.push(`Pointing at the destination registry ${base} (the embedded registry is not served).`);
  }
  if (!base) {
    return {
      title: 'OCI artifacts (oci-sync)',
      notes: [
        'Neither the embedded registry (serve) nor a destination is configured: no repository flags to give.',
      ],
    };
  }
  const flags: string[] = [];
  const env: Record<string, string> = {};
  const yaml = new Map<string, string[]>();
  const refs: { name: string; tag: string; ref: string }[] = [];
  for (const artifact of config.artifacts) {
    const names = FLAGS[artifact.name.split('/').pop() ?? artifact.name];
    if (!names) continue;
    const tag = clientTag(artifact.tags);
    const ref = `${base}/${artifact.name}:${tag}`;
    refs.push({ name: artifact.name, tag, ref });
    flags.push(`${names.flag} ${ref}`);
    env[names.env] = ref;
    const [section, key] = names.yamlPath;
    yaml.set(section, [...(yaml.get(section) ?? []), `  ${key}: ${ref}`]);
  }
  if (insecure) {
    flags.push('--insecure');
    env.TRIVY_INSECURE = 'true';
    yaml.set('insecure', []);
    notes.push('The mirror is plain http: Trivy needs --insecure to use it.');
  } else {
    notes.push(
      'With a private CA, give Trivy --cacert FILE (or SSL_CERT_FILE); --insecure skips verification.',
    );
  }
  const trivyYaml = [...yaml.entries()]
    .map(([section, lines]) =>
      section === 'insecure' ? 'insecure: true' : `${section}:\n${lines.join('\n')}`,
    )
    .join('\n');
  const checks = config.artifacts.find((a) => a.name.endsWith('trivy-checks'));
  if (checks && checks.tags.length > 1) {
    notes.push(
      `trivy-checks is mirrored as ${checks.tags.join(', ')}: current Trivy wants :2, older releases :1.`,
    );
  }
  notes.push(
    'These flags: Trivy v0.51 or later (older releases name the checks flag --policy-bundle-repository).',
    'Credentials, when the mirror requires them: trivy registry login HOST, docker config, or TRIVY_USERNAME/TRIVY_PASSWORD.',
    'Hosts with no registry access at all scan from a populated cache dir with: --skip-db-update --skip-java-db-update --skip-check-update --offline-scan',
  );
  const alternatives: ClientConfigRecipe[] = [];
  const fallback = fallbackListRecipe(config, refs);
  if (fallback) {
    if (insecure) {
      fallback.flags?.push('--insecure');
      if (fallback.env) fallback.env.TRIVY_INSECURE = 'true';
      fallback.notes?.push(
        '--insecure also turns TLS verification off for the upstream entries: serve the mirror over TLS, or ' +
          'from a loopback or private (RFC 1918) address, which Trivy reaches over plain http without it.',
      );
    }
    alternatives.push(fallback);
  }
  if (config.serve.enabled && options.publicUrl) {
    alternatives.push(registryMirrorsRecipe(config, new URL(options.publicUrl).host, insecure));
  }
  return { title: 'OCI artifacts (oci-sync)', flags, env, trivyYaml: `${trivyYaml}\n`, notes, alternatives };
}

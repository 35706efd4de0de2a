// What Trivy clients need to use the mirrored VEX repositories: repository.yaml, `--vex repo`, offline flags.
import type { ClientConfigContribution, ClientConfigSection } from '@trivy-mirror/plugin-api';

/** Where Trivy reads its VEX repository config (fsutils.TrivyHomeDir()/vex/repository.yaml). */
export const REPOSITORY_YAML_PATH = '$XDG_DATA_HOME/.trivy/vex/repository.yaml';
export const REPOSITORY_YAML_FALLBACK_PATH = '~/.trivy/vex/repository.yaml';

export interface RepositoryYamlOptions {
  /** Public base URL of the mirror (no trailing slash). */
  publicUrl: string;
  /** Repository names in config order; the first is also served at the root. */
  repositories: string[];
  /** Adds commented credential lines for a mirror behind serve auth. */
  withCredentials?: boolean;
}

/** The repository URL a client uses: the first repository at the root, others at /<name>. */
export function clientRepositoryUrl(publicUrl: string, repositories: string[], name: string): string {
  const base = publicUrl.replace(/\/+$/, '');
  return name === repositories[0] ? base : `${base}/${name}`;
}

/** YAML for Trivy's repository.yaml (keys as Trivy's yaml decoder reads them: name, url, enabled, …). */
export function renderRepositoryYaml(options: RepositoryYamlOptions): string {
  const lines = ['repositories:'];
  for (const name of options.repositories) {
    lines.push(`  - name: ${name}`);
    lines.push(`    url: ${clientRepositoryUrl(options.publicUrl, options.repositories, name)}`);
    lines.push('    enabled: true');
    if (options.withCredentials) {
      lines.push('    # username: trivy        # Basic auth, or:');
      lines.push('    # password: …');
      lines.push('    # token: …               # sent as Authorization: Bearer');
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `publishBaseUrl`: where nginx serves publishDir, used when the mirror itself serves nothing. */
export function vexClientConfig(repositories: string[], publishBaseUrl?: string): ClientConfigContribution {
  return {
    id: 'vexhub-mirror',
    render(options): ClientConfigSection {
      const cache = options.cacheDir ?? '$XDG_CACHE_HOME/trivy (else ~/.cache/trivy)';
      const publicUrl = options.publicUrl ?? publishBaseUrl?.replace(/\/+$/, '');
      if (!publicUrl) {
        return {
          title: 'VEX repositories (vexhub-mirror)',
          flags: ['--vex repo', '--skip-vex-repo-update'],
          notes: [
            'The VEX repositories are mirrored but not served (no serve.publicUrl, no publishBaseUrl): ' +
              `clients read them from cache dirs that cache-populator fills (${cache}/vex/repositories/<name>).`,
            `Their repository.yaml (${REPOSITORY_YAML_PATH}) must list the same names (${repositories.join(', ')}).`,
          ],
        };
      }
      return {
        title: 'VEX repositories (vexhub-mirror)',
        flags: ['--vex repo'],
        files: [{ path: REPOSITORY_YAML_PATH, content: renderRepositoryYaml({ publicUrl, repositories }) }],
        notes: [
          `Write repository.yaml to ${REPOSITORY_YAML_PATH} (without XDG_DATA_HOME: ${REPOSITORY_YAML_FALLBACK_PATH}); ` +
            'it replaces the default entry that points at github.com.',
          'Scan with `--vex repo`; `trivy vex repo download` fetches the repositories ahead of time.',
          `Offline hosts: add --skip-vex-repo-update and let cache-populator fill ${cache}/vex/repositories/<name>; ` +
            `the names in repository.yaml (${repositories.join(', ')}) must match those folders.`,
          'Trivy caches vex-repository.json and never refreshes it: after switching a host from github.com to the mirror (or moving the mirror), run `trivy clean --vex-repo` once.',
        ],
      };
    },
  };
}

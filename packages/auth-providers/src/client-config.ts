// `trivy-mirror client-config` lines for logging in to the serving listener: trivy registry login,
// TRIVY_USERNAME/TRIVY_PASSWORD or TRIVY_REGISTRY_TOKEN, and the credential fields of Trivy's VEX
// repository.yaml (`username`/`password` → Basic, `token` → Bearer; Trivy pkg/vex/repo).
import type { ClientConfigContribution, ClientConfigSection } from '@trivy-mirror/plugin-api';

export interface AuthClientConfigOptions {
  basic: boolean;
  tokens: boolean;
}

export class AuthClientConfig implements ClientConfigContribution {
  readonly id = 'auth-providers';
  readonly #options: AuthClientConfigOptions;

  constructor(options: AuthClientConfigOptions) {
    this.#options = options;
  }

  render(options: { publicUrl?: string; cacheDir?: string }): ClientConfigSection | undefined {
    // Logging in concerns the serving listener only: nothing to say when the mirror serves nothing.
    if (!options.publicUrl) return undefined;
    const host = new URL(options.publicUrl).host;
    const env: Record<string, string> = {};
    const notes: string[] = [];
    const vexFields: string[] = [];
    if (this.#options.basic) {
      env.TRIVY_USERNAME = '<user from the htpasswd file>';
      env.TRIVY_PASSWORD = '<password>';
      notes.push(
        `Log in once per client (stored in ~/.docker/config.json, which Trivy reads): ` +
          `printf '%s' "$PASSWORD" | trivy registry login --username USER --password-stdin ${host}`,
        'Or set TRIVY_USERNAME and TRIVY_PASSWORD for each scan (they apply to every registry Trivy contacts).',
      );
      vexFields.push('    username: USER', '    password: PASSWORD');
    }
    if (this.#options.tokens) {
      env.TRIVY_REGISTRY_TOKEN = '<token from the serve.tokens file>';
      notes.push('With a static token: set TRIVY_REGISTRY_TOKEN (sent as "Authorization: Bearer <token>").');
      vexFields.push(
        `    ${this.#options.basic ? '# ' : ''}token: TOKEN   # Bearer; used instead of username/password`,
      );
    }
    notes.push(
      'Never put passwords or tokens on the command line (shell history, ps); use --password-stdin or env vars.',
      'For `--vex repo`: add the credential fields to the mirror entry in ~/.trivy/vex/repository.yaml ' +
        '(or $XDG_DATA_HOME/.trivy/vex/repository.yaml):\n' +
        [
          'repositories:',
          '  - name: <as in the VEX section>',
          '    url: <as in the VEX section>',
          '    enabled: true',
          ...vexFields,
        ].join('\n'),
      'The file then holds a secret: chmod 600 it.',
    );
    return { title: `Authentication for ${host}`, env, notes };
  }
}

// Errors of this plugin. Messages name the config key, file or helper — never a secret value.
import { MirrorError } from '@trivy-mirror/plugin-api';

export const CredentialErrorCode = {
  /** A referenced secret file, env var or systemd credential is missing or empty. */
  SECRET_UNAVAILABLE: 'SECRET_UNAVAILABLE',
  /** A docker-credential-* helper failed, timed out or printed something we cannot read. */
  CREDENTIAL_HELPER_FAILED: 'CREDENTIAL_HELPER_FAILED',
  /** A docker config / auth.json or htpasswd file that cannot be read. */
  CREDENTIALS_INVALID: 'CREDENTIALS_INVALID',
} as const;
export type CredentialErrorCode = (typeof CredentialErrorCode)[keyof typeof CredentialErrorCode];

export class CredentialError extends MirrorError {
  /** The YAML path (e.g. `plugins.auth-providers.credentials[0].passwordFile`) or file concerned. */
  readonly key?: string;
  constructor(code: CredentialErrorCode, message: string, options: { key?: string; cause?: unknown } = {}) {
    super(code, message, { cause: options.cause });
    this.name = 'CredentialError';
    this.key = options.key;
  }
}

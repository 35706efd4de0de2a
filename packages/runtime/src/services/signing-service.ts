// The top-level `signing:` section as the Signing service plugins use: the key from a file or a
// systemd credential ($CREDENTIALS_DIRECTORY/NAME), read once per configuration generation.
import { join } from 'node:path';
import { loadSigningKey, SignatureError, SignatureErrorCode, type SigningKey } from '@trivy-mirror/oci';
import type { Signing } from '@trivy-mirror/plugin-api';

export interface SigningConfig {
  keyFile?: string;
  keyCredential?: string;
}

export class KeySigning implements Signing {
  readonly enabled: boolean;
  readonly source?: string;
  /** The YAML path that names the key, for config problems. */
  readonly configPath?: string;
  #loading?: Promise<SigningKey>;

  constructor(
    private readonly config: SigningConfig | undefined,
    readonly mirrorVersion: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.enabled = Boolean(config?.keyFile || config?.keyCredential);
    if (config?.keyFile) {
      this.source = `file ${config.keyFile}`;
      this.configPath = 'signing.keyFile';
    } else if (config?.keyCredential) {
      this.source = `credential ${config.keyCredential}`;
      this.configPath = 'signing.keyCredential';
    }
  }

  /** The key; an error names the YAML path first (`signing.keyFile: signing key … has mode 0640 …`). */
  key(): Promise<SigningKey | undefined> {
    if (!this.enabled) return Promise.resolve(undefined);
    // a failed read is tried again next time (the operator may have fixed the mode meanwhile)
    this.#loading ??= this.load().catch((err: unknown) => {
      this.#loading = undefined;
      if (!(err instanceof SignatureError)) throw err;
      throw new SignatureError(err.code, `${this.configPath}: ${err.message}`, {
        cause: err,
        target: err.target,
      });
    });
    return this.#loading;
  }

  /** Reads the key (config check reports its errors under the YAML path itself). */
  async load(): Promise<SigningKey> {
    if (this.config?.keyFile) return loadSigningKey(this.config.keyFile);
    const name = this.config?.keyCredential ?? '';
    const dir = this.env.CREDENTIALS_DIRECTORY;
    if (!dir) {
      throw new SignatureError(
        SignatureErrorCode.SIGNING_KEY_INVALID,
        `signing key credential ${name}: $CREDENTIALS_DIRECTORY is not set (use LoadCredential=${name}:/etc/trivy-mirror/signing.key in the systemd unit)`,
        { target: name },
      );
    }
    return loadSigningKey(join(dir, name));
  }
}

// Start-up check: every referenced secret must be readable, an explicit docker config must exist and
// the htpasswd file must be valid — otherwise start-up stops with every problem listed at once.
import { ConfigError, type LifecycleContribution, type Logger } from '@trivy-mirror/plugin-api';
import { CredentialError } from './errors.js';
import type { BcryptPool } from './serve/bcrypt-pool.js';
import type { DockerConfigProvider } from './providers/docker-config-provider.js';
import type { HtpasswdFile } from './serve/htpasswd.js';
import type { SecretReader, SecretRef } from './secrets/secret-reader.js';

export interface AuthLifecycleParts {
  logger: Logger;
  reader: SecretReader;
  /** Every secret the enabled providers and the authenticator will read. */
  refs: SecretRef[];
  dockerProvider?: DockerConfigProvider;
  htpasswd?: HtpasswdFile;
  /** The serving listener's bcrypt workers, ended with the plugin. */
  pool?: BcryptPool;
  providers: string[];
}

export class AuthLifecycle implements LifecycleContribution {
  readonly id = 'auth-providers';
  readonly #parts: AuthLifecycleParts;

  constructor(parts: AuthLifecycleParts) {
    this.#parts = parts;
  }

  async start(signal?: AbortSignal): Promise<void> {
    await this.check(signal);
    const { logger, refs, htpasswd, providers } = this.#parts;
    logger.info(
      { providers, secrets: refs.length, htpasswdUsers: htpasswd?.userCount },
      'credential providers ready',
    );
  }

  async stop(): Promise<void> {
    await this.#parts.pool?.close();
  }

  /** Reads every referenced secret once (values are not kept beyond the reader's short cache). */
  async check(_signal?: AbortSignal): Promise<void> {
    const { reader, refs, dockerProvider, htpasswd } = this.#parts;
    const issues: { path: string; message: string }[] = [];
    const collect = (err: unknown, path: string) => {
      if (err instanceof ConfigError && err.issues.length > 0) issues.push(...err.issues);
      else if (err instanceof CredentialError) {
        const key = err.key ?? path;
        const message = err.message.startsWith(`${key}: `) ? err.message.slice(key.length + 2) : err.message;
        issues.push({ path: key, message });
      } else throw err;
    };
    reader.clear();
    for (const ref of refs) {
      try {
        await reader.read(ref);
      } catch (err) {
        collect(err, ref.key);
      }
    }
    if (dockerProvider) {
      try {
        await dockerProvider.check();
      } catch (err) {
        collect(err, 'plugins.auth-providers.dockerConfig');
      }
    }
    if (htpasswd) {
      try {
        await htpasswd.load();
      } catch (err) {
        collect(err, 'plugins.auth-providers.serve.htpasswd');
      }
    }
    if (issues.length > 0) {
      throw new ConfigError(
        `auth-providers: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        issues,
      );
    }
  }
}

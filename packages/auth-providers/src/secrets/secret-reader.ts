// Reads secrets referenced by the config (file, env var, systemd credential) at use time, so rotated
// files take effect, with a short cache so a burst of requests does not hit the disk each time.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@trivy-mirror/plugin-api';
import { CredentialError, CredentialErrorCode } from '../errors.js';
import { loadedSecrets, type SecretRegistry } from './redact.js';

/** Where a secret lives, and the YAML path that named it (for error messages). */
export interface SecretRef {
  kind: 'file' | 'env' | 'credential';
  /** A path, an env var name, or a systemd credential name. */
  name: string;
  /** e.g. `plugins.auth-providers.credentials[0].passwordFile`. */
  key: string;
  /** True for user names: read the same way, but not registered as a loaded secret. */
  public?: boolean;
}

export interface SecretReaderOptions {
  logger: Logger;
  /** How long a value read is reused (default 5 s). */
  ttlMs?: number;
  /** Environment to read env vars and $CREDENTIALS_DIRECTORY from (default process.env, read at use time). */
  env?: NodeJS.ProcessEnv;
  secrets?: SecretRegistry;
  now?: () => number;
}

/** Describes where a secret comes from, for /status and logs ("file /run/x", "env REG_PASS"). */
export function describeSecretRef(ref: SecretRef): string {
  return `${ref.kind} ${ref.name}`;
}

export class SecretReader {
  readonly #logger: Logger;
  readonly #ttlMs: number;
  readonly #env: () => NodeJS.ProcessEnv;
  readonly #secrets: SecretRegistry;
  readonly #now: () => number;
  readonly #cache = new Map<string, { value: string; expires: number }>();
  /** Files already warned about, keyed by path and mode, so a warning is logged once. */
  readonly #warned = new Set<string>();

  constructor(options: SecretReaderOptions) {
    this.#logger = options.logger;
    this.#ttlMs = options.ttlMs ?? 5000;
    const env = options.env;
    this.#env = () => env ?? process.env;
    this.#secrets = options.secrets ?? loadedSecrets;
    this.#now = options.now ?? Date.now;
  }

  /** The value (trailing newline removed). Throws CredentialError naming `ref.key`. */
  async read(ref: SecretRef): Promise<string> {
    const cacheKey = `${ref.kind}\0${ref.name}`;
    const hit = this.#cache.get(cacheKey);
    if (hit && hit.expires > this.#now()) return hit.value;
    const value = await this.#readUncached(ref);
    if (!ref.public) this.#secrets.add(value);
    this.#cache.set(cacheKey, { value, expires: this.#now() + this.#ttlMs });
    return value;
  }

  /** Forgets cached values (e.g. before a start-up check). */
  clear(): void {
    this.#cache.clear();
  }

  async #readUncached(ref: SecretRef): Promise<string> {
    if (ref.kind === 'env') {
      const value = this.#env()[ref.name];
      if (value === undefined || value === '') {
        throw new CredentialError(
          CredentialErrorCode.SECRET_UNAVAILABLE,
          `${ref.key}: environment variable ${ref.name} is ${value === undefined ? 'not set' : 'empty'}`,
          { key: ref.key },
        );
      }
      return value;
    }
    let path = ref.name;
    if (ref.kind === 'credential') {
      const dir = this.#env().CREDENTIALS_DIRECTORY;
      if (!dir) {
        throw new CredentialError(
          CredentialErrorCode.SECRET_UNAVAILABLE,
          `${ref.key}: ${ref.name}: $CREDENTIALS_DIRECTORY is not set (use LoadCredential=${ref.name}:… in the systemd unit)`,
          { key: ref.key },
        );
      }
      if (ref.name.includes('/')) {
        throw new CredentialError(
          CredentialErrorCode.SECRET_UNAVAILABLE,
          `${ref.key}: ${ref.name}: a credential name may not contain '/'`,
          { key: ref.key },
        );
      }
      path = join(dir, ref.name);
    }
    return this.#readFile(path, ref);
  }

  async #readFile(path: string, ref: SecretRef): Promise<string> {
    let text: string;
    try {
      const info = await stat(path);
      if (!info.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
      this.#checkMode(path, info.mode, ref.key);
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'no such file'
          : code === 'EACCES'
            ? 'permission denied'
            : code === 'ENOTFILE'
              ? 'not a regular file'
              : `cannot read (${code ?? 'error'})`;
      throw new CredentialError(CredentialErrorCode.SECRET_UNAVAILABLE, `${ref.key}: ${path}: ${why}`, {
        key: ref.key,
      });
    }
    // Files written with `echo` end in a newline; systemd credentials usually do not.
    const value = text.replace(/\r?\n$/, '');
    if (value === '') {
      throw new CredentialError(
        CredentialErrorCode.SECRET_UNAVAILABLE,
        `${ref.key}: ${path}: file is empty`,
        {
          key: ref.key,
        },
      );
    }
    return value;
  }

  #checkMode(path: string, mode: number, key: string): void {
    if ((mode & 0o077) === 0) return;
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    const id = `${path}\0${octal}`;
    if (this.#warned.has(id)) return;
    this.#warned.add(id);
    this.#logger.warn(
      { file: path, mode: octal, key },
      'secret file is readable by group or others; chmod 600 it',
    );
  }
}

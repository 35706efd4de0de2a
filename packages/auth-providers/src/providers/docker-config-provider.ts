// The `docker-config` provider: Docker's config.json and Podman's auth.json, the way `docker login`
// and `podman login` leave them — inline `auths`, per-host `credHelpers` and a default `credsStore`.
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RegistryCredential } from '@trivy-mirror/oci';
import type { CredentialProvider } from '@trivy-mirror/plugin-api';
import { credentialHelperGet } from './credential-helper.js';
import { CredentialError, CredentialErrorCode } from '../errors.js';
import { loadedSecrets, type SecretRegistry } from '../secrets/redact.js';
import { helperServerUrl, hostOfAuthKey, normalizeRegistryHost } from './registry-host.js';

interface AuthEntry {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

interface ParsedConfig {
  auths: Map<string, AuthEntry>;
  credHelpers: Map<string, string>;
  credsStore?: string;
}

export interface DockerConfigProviderOptions {
  /** Replaces $DOCKER_CONFIG/config.json and ~/.docker/config.json; must exist. */
  path?: string;
  helperTimeoutMs?: number;
  /** Environment (default process.env at call time): DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, HOME, PATH. */
  env?: NodeJS.ProcessEnv;
  secrets?: SecretRegistry;
}

/** Per file, which hosts it covers and how (for /status; never values). */
export interface DockerConfigSummary {
  file: string;
  auths: string[];
  credHelpers: Record<string, string>;
  credsStore?: string;
}

export class DockerConfigProvider implements CredentialProvider {
  readonly id = 'docker-config';
  readonly order: number;
  readonly #options: DockerConfigProviderOptions;
  readonly #cache = new Map<string, { mtimeMs: number; size: number; parsed: ParsedConfig }>();

  constructor(order: number, options: DockerConfigProviderOptions = {}) {
    this.order = order;
    this.#options = options;
  }

  /** The files consulted, in order, for the current environment. */
  files(): string[] {
    const env = this.#env();
    const files: string[] = [];
    if (this.#options.path) files.push(this.#options.path);
    else if (env.DOCKER_CONFIG) files.push(join(env.DOCKER_CONFIG, 'config.json'));
    else files.push(join(env.HOME || homedir(), '.docker', 'config.json'));
    if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
    if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
    return [...new Set(files)];
  }

  async forRegistry(host: string): Promise<RegistryCredential | undefined> {
    const wanted = normalizeRegistryHost(host);
    for (const file of this.files()) {
      const config = await this.#load(file);
      if (!config) continue;
      const helper = config.credHelpers.get(wanted);
      if (helper) {
        const found = await this.#helper(helper, host, file);
        if (found) return found;
      }
      const entry = config.auths.get(wanted);
      if (entry && (entry.password !== undefined || entry.identityToken || entry.registryToken)) {
        return { ...entry, source: `docker-config ${file} auths` };
      }
      if (config.credsStore) {
        const found = await this.#helper(config.credsStore, host, file);
        if (found) return found;
      }
    }
    return undefined;
  }

  /** Fails when an explicitly configured file is missing or any file is unreadable. */
  async check(): Promise<void> {
    if (this.#options.path) {
      try {
        await stat(this.#options.path);
      } catch {
        throw new CredentialError(
          CredentialErrorCode.CREDENTIALS_INVALID,
          `plugins.auth-providers.dockerConfig.path: ${this.#options.path}: no such file`,
          { key: 'plugins.auth-providers.dockerConfig.path' },
        );
      }
    }
    for (const file of this.files()) await this.#load(file);
  }

  async summary(): Promise<DockerConfigSummary[]> {
    const out: DockerConfigSummary[] = [];
    for (const file of this.files()) {
      let config: ParsedConfig | undefined;
      try {
        config = await this.#load(file);
      } catch {
        continue;
      }
      if (!config) continue;
      out.push({
        file,
        auths: [...config.auths.keys()],
        credHelpers: Object.fromEntries(config.credHelpers),
        ...(config.credsStore ? { credsStore: config.credsStore } : {}),
      });
    }
    return out;
  }

  async #helper(helper: string, host: string, file: string): Promise<RegistryCredential | undefined> {
    const found = await credentialHelperGet(helper, helperServerUrl(host), {
      timeoutMs: this.#options.helperTimeoutMs,
      env: this.#options.env,
      secrets: this.#options.secrets,
    });
    return found ? { ...found, source: `docker-config ${file} ${found.source}` } : undefined;
  }

  #env(): NodeJS.ProcessEnv {
    return this.#options.env ?? process.env;
  }

  /** Parsed file, re-read when its mtime or size changes; undefined when it does not exist. */
  async #load(file: string): Promise<ParsedConfig | undefined> {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.#invalid(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const cached = this.#cache.get(file);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.parsed;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw this.#invalid(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const parsed = this.#parse(file, text);
    this.#cache.set(file, { mtimeMs: info.mtimeMs, size: info.size, parsed });
    return parsed;
  }

  #parse(file: string, text: string): ParsedConfig {
    let json: unknown;
    try {
      json = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      // JSON.parse quotes the text around the error, and the text holds secrets.
      throw this.#invalid(file, 'not valid JSON');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw this.#invalid(file, 'not a JSON object');
    const raw = json as { auths?: unknown; credHelpers?: unknown; credsStore?: unknown };
    const secrets = this.#options.secrets ?? loadedSecrets;
    const auths = new Map<string, AuthEntry>();
    if (raw.auths && typeof raw.auths === 'object') {
      for (const [key, value] of Object.entries(raw.auths as Record<string, unknown>)) {
        if (!value || typeof value !== 'object') continue;
        const entry = this.#parseAuth(file, key, value as Record<string, unknown>);
        secrets.add(entry.password, entry.identityToken, entry.registryToken);
        if (entry.username !== undefined && entry.password !== undefined)
          secrets.addBasic(entry.username, entry.password);
        const host = hostOfAuthKey(key);
        // A bare host key beats a URL key for the same host (docker writes both forms over time).
        if (!auths.has(host) || !key.includes('://')) auths.set(host, entry);
      }
    }
    const credHelpers = new Map<string, string>();
    if (raw.credHelpers && typeof raw.credHelpers === 'object') {
      for (const [key, value] of Object.entries(raw.credHelpers as Record<string, unknown>)) {
        if (typeof value === 'string' && value !== '') credHelpers.set(hostOfAuthKey(key), value);
      }
    }
    const credsStore =
      typeof raw.credsStore === 'string' && raw.credsStore !== '' ? raw.credsStore : undefined;
    return { auths, credHelpers, credsStore };
  }

  #parseAuth(file: string, key: string, value: Record<string, unknown>): AuthEntry {
    const str = (k: string) =>
      typeof value[k] === 'string' && value[k] !== '' ? (value[k] as string) : undefined;
    const entry: AuthEntry = {};
    const auth = str('auth');
    if (auth !== undefined) {
      const decoded = Buffer.from(auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw this.#invalid(file, `auths["${key}"].auth is not base64 of user:password`);
      entry.username = decoded.slice(0, colon);
      entry.password = decoded.slice(colon + 1);
    } else {
      if (str('username') !== undefined) entry.username = str('username');
      if (str('password') !== undefined) entry.password = str('password');
    }
    const identityToken = str('identitytoken');
    if (identityToken !== undefined) {
      entry.identityToken = identityToken;
      // The user name next to an identity token is a placeholder ('<token>'); the password is unused.
      delete entry.password;
      if (entry.username === '<token>') delete entry.username;
    }
    const registryToken = str('registrytoken');
    if (registryToken !== undefined) entry.registryToken = registryToken;
    return entry;
  }

  #invalid(file: string, why: string): CredentialError {
    return new CredentialError(CredentialErrorCode.CREDENTIALS_INVALID, `docker config ${file}: ${why}`, {
      key: 'plugins.auth-providers.dockerConfig',
    });
  }
}

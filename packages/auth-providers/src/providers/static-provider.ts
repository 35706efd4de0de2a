// The `static` provider: credentials listed in the config, per registry host or per URL prefix,
// with every secret read (and re-read after rotation) from a file, an env var or a systemd credential.
import type { RegistryCredential } from '@trivy-mirror/oci';
import type { CredentialProvider, HttpCredential } from '@trivy-mirror/plugin-api';
import { CONFIG_PATH, type CredentialEntry } from '../config.js';
import { normalizeRegistryHost } from './registry-host.js';
import { describeSecretRef, type SecretReader, type SecretRef } from '../secrets/secret-reader.js';

interface StaticEntry {
  index: number;
  /** Normalised host[:port], for registries. */
  host?: string;
  /** Normalised URL prefix, for HTTP sources. */
  url?: string;
  username?: string | SecretRef;
  password?: SecretRef;
  token?: SecretRef;
}

/** What /status may show about a configured credential (never the value). */
export interface StaticEntrySummary {
  target: string;
  auth: 'basic' | 'token';
  from: string;
}

function refOf(
  entry: CredentialEntry,
  index: number,
  field: 'username' | 'password' | 'token',
): SecretRef | undefined {
  const key = (suffix: string) => `${CONFIG_PATH}.credentials[${index}].${field}${suffix}`;
  const e = entry as Record<string, unknown>;
  const file = e[`${field}File`];
  const env = e[`${field}Env`];
  const credential = e[`${field}Credential`];
  const common = field === 'username' ? { public: true } : {};
  if (typeof file === 'string') return { kind: 'file', name: file, key: key('File'), ...common };
  if (typeof env === 'string') return { kind: 'env', name: env, key: key('Env'), ...common };
  if (typeof credential === 'string')
    return { kind: 'credential', name: credential, key: key('Credential'), ...common };
  return undefined;
}

/** `https://github.com` → `https://github.com/`; keeps the path as written otherwise. */
function normalizeUrlPrefix(url: string): string {
  return new URL(url).href;
}

/** True when `href` starts with `prefix` at a path boundary (`/a` matches `/a/b`, not `/ab`). */
function matchesPrefix(href: string, prefix: string): boolean {
  if (!href.startsWith(prefix)) return false;
  if (prefix.endsWith('/') || href.length === prefix.length) return true;
  return '/?#'.includes(href[prefix.length]);
}

export class StaticCredentialProvider implements CredentialProvider {
  readonly id = 'static';
  readonly order: number;
  readonly #entries: StaticEntry[];
  readonly #reader: SecretReader;

  constructor(entries: CredentialEntry[], reader: SecretReader, order: number) {
    this.order = order;
    this.#reader = reader;
    this.#entries = entries.map((entry, index) => ({
      index,
      host: entry.host === undefined ? undefined : normalizeRegistryHost(entry.host),
      url: entry.url === undefined ? undefined : normalizeUrlPrefix(entry.url),
      username: entry.username ?? refOf(entry, index, 'username'),
      password: refOf(entry, index, 'password'),
      token: refOf(entry, index, 'token'),
    }));
  }

  async forRegistry(host: string): Promise<RegistryCredential | undefined> {
    const wanted = normalizeRegistryHost(host);
    const entry = this.#entries.find((e) => e.host === wanted);
    if (!entry) return undefined;
    const source = this.#source(entry);
    if (entry.token) return { registryToken: await this.#reader.read(entry.token), source };
    return { ...(await this.#basic(entry)), source };
  }

  async forUrl(url: URL): Promise<HttpCredential | undefined> {
    const href = url.href;
    let best: StaticEntry | undefined;
    for (const e of this.#entries) {
      if (e.url && matchesPrefix(href, e.url) && (!best || e.url.length > (best.url?.length ?? 0))) best = e;
    }
    if (!best) return undefined;
    const source = this.#source(best);
    if (best.token) return { token: await this.#reader.read(best.token), source };
    return { ...(await this.#basic(best)), source };
  }

  /** Every secret reference, for the start-up check. */
  refs(): SecretRef[] {
    const out: SecretRef[] = [];
    for (const e of this.#entries) {
      for (const r of [e.username, e.password, e.token]) if (r && typeof r !== 'string') out.push(r);
    }
    return out;
  }

  summary(): StaticEntrySummary[] {
    return this.#entries.map((e) => ({
      target: e.host ?? e.url ?? '',
      auth: e.token ? 'token' : 'basic',
      from: describeSecretRef((e.token ?? e.password) as SecretRef),
    }));
  }

  async #basic(entry: StaticEntry): Promise<{ username: string; password: string }> {
    const username =
      typeof entry.username === 'string'
        ? entry.username
        : await this.#reader.read(entry.username as SecretRef);
    const password = await this.#reader.read(entry.password as SecretRef);
    return { username, password };
  }

  #source(entry: StaticEntry): string {
    const ref = entry.token ?? entry.password;
    return `static credentials[${entry.index}]${ref ? ` (${describeSecretRef(ref)})` : ''}`;
  }
}

// The top-level `trust:` section as the Trust service plugins and commands use: the inside's trusted
// public keys (PEM ECDSA P-256, read once per configuration generation) and whether only what they
// signed is admitted (`require`).
import { loadTrustedKey, type TrustedKey } from '@trivy-mirror/oci';
import type { Trust } from '@trivy-mirror/plugin-api';
import { describeError } from '@trivy-mirror/plugin-api';

export interface TrustConfig {
  keys: string[];
  require: boolean;
}

export class KeyTrust implements Trust {
  readonly enabled: boolean;
  readonly require: boolean;
  readonly files: readonly string[];
  #loading?: Promise<TrustedKey[]>;

  constructor(config: TrustConfig | undefined) {
    this.files = config?.keys ?? [];
    this.enabled = this.files.length > 0;
    this.require = config?.require === true;
  }

  keys(): Promise<TrustedKey[]> {
    // a failed read is tried again next time (the operator may have fixed the file meanwhile)
    this.#loading ??= loadAll(this.files).catch((err: unknown) => {
      this.#loading = undefined;
      throw err;
    });
    return this.#loading;
  }
}

async function loadAll(files: readonly string[]): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const file of files) {
    const key = await loadTrustedKey(file);
    if (!keys.some((k) => k.keyId === key.keyId)) keys.push(key);
  }
  return keys;
}

/** One problem per unreadable or invalid key file, with its YAML path (trust.keys[i]). */
export async function trustProblems(
  config: TrustConfig | undefined,
): Promise<{ path: string; message: string }[]> {
  const out: { path: string; message: string }[] = [];
  for (const [i, file] of (config?.keys ?? []).entries()) {
    await loadTrustedKey(file).catch((err: unknown) =>
      out.push({ path: `trust.keys[${i}]`, message: describeError(err) }),
    );
  }
  return out;
}

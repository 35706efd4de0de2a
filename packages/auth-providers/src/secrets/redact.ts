// Pure helpers to keep secrets out of text: replace known values, and remember which values were loaded
// so that the runtime or a test can assert that none of them leaks into logs, errors or /status.

export const REDACTED = '[REDACTED]';

/** Replaces every occurrence of every non-empty secret in `text` (longest first, so overlaps vanish). */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  const values = [...new Set([...secrets].filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  let out = text;
  for (const value of values) out = out.split(value).join(REDACTED);
  return out;
}

/** A set of secret values seen by this process. Holds values only in memory, never prints them. */
export class SecretRegistry {
  readonly #values = new Set<string>();

  add(...values: (string | undefined)[]): void {
    for (const v of values) if (v) this.#values.add(v);
  }

  /** Also remembers `user:password` and its base64 (the Basic header form). */
  addBasic(username: string, password: string): void {
    this.add(password, `${username}:${password}`, Buffer.from(`${username}:${password}`).toString('base64'));
  }

  values(): string[] {
    return [...this.#values];
  }

  get size(): number {
    return this.#values.size;
  }

  redact(text: string): string {
    return redactSecrets(text, this.#values);
  }

  /** The secrets that occur in `text` (for assertions). */
  leaks(text: string): string[] {
    return this.values().filter((v) => text.includes(v));
  }

  clear(): void {
    this.#values.clear();
  }
}

/** Every secret value loaded by auth-providers in this process (files, env, docker config, helpers). */
export const loadedSecrets = new SecretRegistry();

// Access control for the serving listener: Basic against an htpasswd file (bcrypt) and Bearer against
// static tokens. Verified Basic logins are cached for a minute, keyed by a hash, so that bcrypt's cost
// is paid once per client and not once per blob request. bcrypt runs on a worker pool with a bounded
// queue (bcrypt-pool.ts); the same login checked by parallel requests is checked once.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AuthDecision, Logger, ServeAuthenticator } from '@trivy-mirror/plugin-api';
import { BcryptPool } from './bcrypt-pool.js';
import type { HtpasswdFile } from './htpasswd.js';
import type { SecretReader, SecretRef } from '../secrets/secret-reader.js';

/**
 * Salt and hash (never matched) compared against when the user is unknown, at the file's cost, so
 * that unknown and known users cost the same work.
 */
const DUMMY_TAIL = 'zTxlmFa0Ioj69belQaDJEOJco5dltbFdptchGXza/nvAsb4iOuh.u';
const MAX_CACHE = 1000;

/** A hash no password matches, checked at `cost` like a real entry. */
export function dummyHash(cost: number): string {
  return `$2b$${String(Math.min(31, Math.max(4, cost))).padStart(2, '0')}$${DUMMY_TAIL}`;
}

export interface HtpasswdTokenAuthenticatorOptions {
  htpasswd?: HtpasswdFile;
  tokens?: SecretRef[];
  reader: SecretReader;
  logger: Logger;
  realm?: string;
  /** Where bcrypt runs (default: a pool of its own). */
  pool?: BcryptPool;
  /** How long a verified Basic login is reused (default 60 s). */
  cacheTtlMs?: number;
  now?: () => number;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export class HtpasswdTokenAuthenticator implements ServeAuthenticator {
  readonly id = 'auth-providers';
  readonly realm: string;
  readonly #htpasswd?: HtpasswdFile;
  readonly #tokens: SecretRef[];
  readonly #reader: SecretReader;
  readonly #logger: Logger;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #verified = new Map<string, number>();
  /** Checks in progress by login key: parallel requests of one client share one bcrypt run. */
  readonly #checking = new Map<string, Promise<boolean | 'busy'>>();
  readonly pool: BcryptPool;
  #generation = -1;

  constructor(options: HtpasswdTokenAuthenticatorOptions) {
    this.#htpasswd = options.htpasswd;
    this.#tokens = options.tokens ?? [];
    this.#reader = options.reader;
    this.#logger = options.logger;
    this.realm = options.realm ?? 'trivy-mirror';
    this.#ttlMs = options.cacheTtlMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.pool = options.pool ?? new BcryptPool({ logger: options.logger });
  }

  async authenticate(req: IncomingMessage): Promise<AuthDecision> {
    const header = req.headers.authorization;
    if (!header) return 'absent';
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme === 'basic') return this.#basic(value);
    if (scheme === 'bearer') return this.#bearer(value);
    return 'denied';
  }

  async #basic(value: string): Promise<AuthDecision> {
    if (!this.#htpasswd || value === '') return 'denied';
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return 'denied';
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = await this.#htpasswd.hashOf(user);
    if (this.#htpasswd.generation !== this.#generation) {
      // The file changed: a removed user or a new password must not ride on the cache.
      this.#verified.clear();
      this.#generation = this.#htpasswd.generation;
    }
    const key = sha256(`${this.#generation}\0${user}\0${password}`).toString('hex');
    const until = this.#verified.get(key);
    if (hash && until !== undefined && until > this.#now()) return 'granted';
    let check = this.#checking.get(key);
    if (!check) {
      check = this.pool.compare(password, hash ?? dummyHash(this.#htpasswd.cost));
      this.#checking.set(key, check);
      void check.finally(() => this.#checking.delete(key));
    }
    const ok = await check;
    if (ok === 'busy') return 'busy';
    if (!ok || !hash) return 'denied';
    if (this.#verified.size >= MAX_CACHE) this.#verified.delete(this.#verified.keys().next().value as string);
    this.#verified.set(key, this.#now() + this.#ttlMs);
    return 'granted';
  }

  async #bearer(value: string): Promise<AuthDecision> {
    if (value === '' || this.#tokens.length === 0) return 'denied';
    const given = sha256(value);
    let granted = false;
    for (const ref of this.#tokens) {
      let token: string;
      try {
        token = await this.#reader.read(ref);
      } catch (err) {
        this.#logger.error({ err, key: ref.key }, 'serve token unavailable');
        continue;
      }
      // Equal-length digests make the comparison constant-time whatever the token lengths.
      if (timingSafeEqual(given, sha256(token))) granted = true;
    }
    return granted ? 'granted' : 'denied';
  }
}

// Registry authentication: answers WWW-Authenticate challenges (Bearer token endpoint or Basic),
// caches tokens per host+scope until they expire and credentials per host for a short time.
import { OciError, OciErrorCode } from '../errors.js';
import { dumpBody, type HttpTransport, readBody } from '../connection/http-transport.js';
import { type AuthChallenge, parseWwwAuthenticate } from './www-authenticate.js';
import type { CredentialResolver, RegistryCredential } from '../types.js';

const CREDENTIAL_TTL_MS = 5 * 60_000;
const DEFAULT_TOKEN_TTL_S = 60;
const TOKEN_MAX_BYTES = 1024 * 1024;

/** `repository:NAME:pull` or `repository:NAME:pull,push`. */
export function repositoryScope(repository: string, push = false): string {
  return `repository:${repository}:${push ? 'pull,push' : 'pull'}`;
}

export interface Authorization {
  /** Value for the Authorization header, if any. */
  header?: string;
  /** Where the credentials came from (RegistryCredential.source), when some were used. */
  credentialSource?: string;
  /** True when a retry cannot do better (fresh token, Basic with the credentials we have). */
  final: boolean;
}

interface CachedToken {
  token: string;
  expiresAt: number;
  credentialSource?: string;
}

export class AuthManager {
  private readonly credentialCache = new Map<
    string,
    { at: number; value: Promise<RegistryCredential | undefined> }
  >();
  private readonly challenges = new Map<string, AuthChallenge>();
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    private readonly http: HttpTransport,
    private readonly resolver?: CredentialResolver,
    private readonly clientId = 'trivy-mirror',
  ) {}

  /**
   * Credentials for `host`, asked once and kept for a few minutes. A lookup that fails (unreadable
   * secret file, broken credential helper) is not cached and surfaces as UNAUTHORIZED with its cause,
   * so the operator sees why instead of an anonymous 401.
   */
  credentials(host: string): Promise<RegistryCredential | undefined> {
    const hit = this.credentialCache.get(host);
    if (hit && Date.now() - hit.at < CREDENTIAL_TTL_MS) return hit.value;
    if (!this.resolver) return Promise.resolve(undefined);
    const value = this.resolver(host).catch((err: unknown) => {
      this.credentialCache.delete(host);
      const why = err instanceof Error ? err.message : String(err);
      throw new OciError(OciErrorCode.UNAUTHORIZED, `credentials for ${host} could not be read: ${why}`, {
        cause: err,
        target: host,
      });
    });
    this.credentialCache.set(host, { at: Date.now(), value });
    return value;
  }

  /** What to send before any challenge for this request: cached token, known scheme, or nothing. */
  async authorize(host: string, scopes: string[], signal?: AbortSignal): Promise<Authorization> {
    const cred = await this.credentials(host);
    if (cred?.registryToken)
      return { header: `Bearer ${cred.registryToken}`, credentialSource: cred.source, final: true };
    const challenge = this.challenges.get(host);
    if (!challenge) return { final: false };
    if (challenge.scheme === 'basic') return this.basic(cred);
    const cached = this.tokens.get(tokenKey(host, scopes));
    if (cached && cached.expiresAt > Date.now()) {
      return { header: `Bearer ${cached.token}`, credentialSource: cached.credentialSource, final: false };
    }
    try {
      return await this.fetchToken(host, challenge, scopes, cred, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      // The remembered challenge is only a shortcut: when its realm fails (a broken or hostile
      // challenge, a token endpoint that moved), forget it and ask the registry again, instead of
      // failing every later request to this host until a restart.
      if (this.challenges.get(host) === challenge) this.challenges.delete(host);
      return { final: false };
    }
  }

  /** Reacts to a 401: remembers the challenge and returns fresh authorization (or throws UNAUTHORIZED). */
  async challenge(
    host: string,
    wwwAuthenticate: string | string[] | undefined,
    scopes: string[],
    signal?: AbortSignal,
  ): Promise<Authorization> {
    const all = parseWwwAuthenticate(wwwAuthenticate);
    const challenge =
      all.find((c) => c.scheme === 'bearer' && c.params.realm) ?? all.find((c) => c.scheme === 'basic');
    const cred = await this.credentials(host);
    if (!challenge) {
      throw unauthorized(
        host,
        undefined,
        `no usable WWW-Authenticate challenge (${all.map((c) => c.scheme).join(', ') || 'none'})`,
      );
    }
    this.challenges.set(host, challenge);
    this.tokens.delete(tokenKey(host, scopes));
    if (challenge.scheme === 'basic') {
      if (!cred?.username) throw unauthorized(host, cred, 'the registry wants Basic credentials');
      return this.basic(cred);
    }
    return this.fetchToken(host, challenge, scopes, cred, signal);
  }

  private basic(cred: RegistryCredential | undefined): Authorization {
    if (!cred?.username) return { final: true };
    const value = Buffer.from(`${cred.username}:${cred.password ?? ''}`).toString('base64');
    return { header: `Basic ${value}`, credentialSource: cred.source, final: true };
  }

  private async fetchToken(
    host: string,
    challenge: AuthChallenge,
    scopes: string[],
    cred: RegistryCredential | undefined,
    signal?: AbortSignal,
  ): Promise<Authorization> {
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm ?? '');
    } catch {
      throw unauthorized(host, cred, `token realm "${challenge.params.realm}" is not a URL`);
    }
    const wanted = [...scopes];
    const offered = challenge.params.scope;
    if (offered) for (const s of offered.split(' ')) if (s && !wanted.includes(s)) wanted.push(s);
    const service = challenge.params.service;

    let res: Awaited<ReturnType<HttpTransport['request']>>;
    if (cred?.identityToken) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: cred.identityToken,
        client_id: this.clientId,
        scope: wanted.join(' '),
      });
      if (service) form.set('service', service);
      res = await this.http.request({
        method: 'POST',
        url: realm,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        signal,
      });
    } else {
      const url = new URL(realm);
      if (service) url.searchParams.set('service', service);
      for (const s of wanted) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (cred?.username) {
        headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password ?? ''}`).toString('base64')}`;
        url.searchParams.set('account', cred.username);
      }
      res = await this.http.request({ method: 'GET', url, headers, signal });
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      await dumpBody(res.body);
      throw unauthorized(host, cred, `token endpoint ${realm.host} answered ${res.statusCode}`);
    }
    if (res.statusCode === 429) {
      await dumpBody(res.body);
      throw new OciError(OciErrorCode.TOO_MANY_REQUESTS, `token endpoint ${realm.host} answered 429`, {
        status: 429,
        target: host,
      });
    }
    if (res.statusCode !== 200) {
      await dumpBody(res.body);
      throw new OciError(
        res.statusCode >= 500 ? OciErrorCode.SERVER_ERROR : OciErrorCode.HTTP_UNEXPECTED,
        `token endpoint ${realm.host} answered ${res.statusCode} for ${host}`,
        { status: res.statusCode, target: host },
      );
    }
    const body = await readBody(res.body, TOKEN_MAX_BYTES, () => new Error('token response too large'));
    let parsed: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new OciError(OciErrorCode.HTTP_UNEXPECTED, `token endpoint ${realm.host} returned invalid JSON`, {
        target: host,
        cause: err,
      });
    }
    const token = parsed.token ?? parsed.access_token;
    if (!token) throw unauthorized(host, cred, `token endpoint ${realm.host} returned no token`);
    const ttl =
      typeof parsed.expires_in === 'number' && parsed.expires_in > 0
        ? parsed.expires_in
        : DEFAULT_TOKEN_TTL_S;
    const issued = parsed.issued_at ? Date.parse(parsed.issued_at) : Number.NaN;
    const start = Number.isNaN(issued) ? Date.now() : Math.min(issued, Date.now());
    // renew a little early so a token does not expire in flight
    const expiresAt = start + ttl * 1000 * 0.9;
    this.tokens.set(tokenKey(host, scopes), { token, expiresAt, credentialSource: cred?.source });
    return {
      header: `Bearer ${token}`,
      credentialSource: cred?.username || cred?.identityToken ? cred.source : undefined,
      final: true,
    };
  }
}

function tokenKey(host: string, scopes: string[]): string {
  return `${host} ${[...scopes].sort().join(' ')}`;
}

/** UNAUTHORIZED naming the host and whether (and from where) credentials were sent; never the secret. */
export function unauthorized(
  host: string,
  cred: { source: string } | undefined,
  detail: string,
  sentSource?: string,
): OciError {
  const source = sentSource ?? cred?.source;
  const sent = source ? `credentials from ${source} were sent` : 'no credentials were sent (anonymous)';
  return new OciError(OciErrorCode.UNAUTHORIZED, `registry ${host} refused access: ${detail}; ${sent}`, {
    status: 401,
    target: host,
  });
}

// The serving listener for Trivy clients: read-only (405 for anything but GET/HEAD), optional TLS, and
// access control through ServeAuthenticator contributions (401 with a Basic challenge unless one grants;
// 429 + Retry-After once a client has spent its budget of bad logins).
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import {
  type AuthDecision,
  type Logger,
  MirrorError,
  type ServeAuthenticator,
} from '@trivy-mirror/plugin-api';
import {
  AuthFailureBudget,
  type AuthFailureBudgetOptions,
  clientKey,
  REFUSAL_DELAY_MS,
  refuseLogin,
} from './auth-failure-budget.js';
import type { ClientsSeen } from '../clients/clients-seen.js';
import { HttpListener } from './http-listener.js';
import { dispatch, type RouteEntry, sendJson } from './router.js';

export const AUTH_CHALLENGE = 'Basic realm="trivy-mirror"';

/** The Basic challenge: the first authenticator's realm (the ServeAuthenticator contract), else the default. */
export function authChallenge(authenticators: readonly ServeAuthenticator[]): string {
  const realm = authenticators.find((a) => a.realm)?.realm;
  if (!realm) return AUTH_CHALLENGE;
  return `Basic realm="${realm.replace(/["\\\r\n]/g, '')}"`;
}

export interface ServeState {
  routes(): RouteEntry[];
  authenticators(): ServeAuthenticator[];
}

/** Reads the TLS files with errors that name them. */
export async function readTlsFiles(tls: {
  cert: string;
  key: string;
}): Promise<{ cert: Buffer; key: Buffer }> {
  const read = async (what: string, file: string) => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new MirrorError(
        'TLS_INVALID',
        `serve.tls.${what}: cannot read ${file}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  };
  return { cert: await read('cert', tls.cert), key: await read('key', tls.key) };
}

/** 'granted' by any; else 'busy' if one could not check now; else 'denied' if one refused. */
async function authorize(
  authenticators: ServeAuthenticator[],
  req: IncomingMessage,
  log: Logger,
): Promise<AuthDecision> {
  if (authenticators.length === 0) return 'granted';
  let outcome: AuthDecision = 'absent';
  for (const a of authenticators) {
    try {
      const d = await a.authenticate(req);
      if (d === 'granted') return d;
      if (d === 'busy' || (d === 'denied' && outcome === 'absent')) outcome = d;
    } catch (err) {
      log.error({ err, authenticator: a.id }, 'authenticator failed');
      if (outcome === 'absent') outcome = 'denied';
    }
  }
  return outcome;
}

export async function createServeListener(options: {
  listen: string;
  tls?: { cert: string; key: string };
  logger: Logger;
  state: ServeState;
  /** Counts what each client fetches. */
  clients?: ClientsSeen;
  failureBudget?: AuthFailureBudgetOptions;
  /** How long a 429 or 503 for a login waits before it is sent (default 1 s). */
  refusalDelayMs?: number;
}): Promise<HttpListener> {
  const tls = options.tls ? await readTlsFiles(options.tls) : undefined;
  const failures = new AuthFailureBudget(options.failureBudget);
  return new HttpListener({
    name: 'serve',
    listen: options.listen,
    tls,
    logger: options.logger,
    handler: async (req, res, url) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(
          res,
          405,
          { errors: [{ code: 'UNSUPPORTED', message: 'this mirror is read-only' }] },
          { allow: 'GET, HEAD' },
        );
        return true;
      }
      const authenticators = options.state.authenticators();
      // A client that spent its budget of bad logins waits; its credentials are not even checked.
      const client = clientKey(req);
      const wait =
        authenticators.length > 0 && req.headers.authorization ? failures.retryAfter(client) : undefined;
      const decision = wait === undefined ? await authorize(authenticators, req, options.logger) : 'denied';
      const authorized = decision === 'granted';
      options.clients?.watch(req, res, url, authorized);
      if (wait !== undefined || decision === 'busy') {
        await refuseLogin(res, wait ?? 'busy', options.refusalDelayMs ?? REFUSAL_DELAY_MS);
        return true;
      }
      if (decision === 'denied') failures.spend(client);
      if (!authorized) {
        // Shaped like the distribution spec's errors so registry clients show it sensibly.
        sendJson(
          res,
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
          { 'www-authenticate': authChallenge(options.state.authenticators()) },
        );
        return true;
      }
      return dispatch(options.state.routes(), req, res, url);
    },
  });
}

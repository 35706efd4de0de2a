// The serving listener for Trivy clients: read-only (405 for anything but GET/HEAD), optional TLS, and
// access control through ServeAuthenticator contributions (401 with a Basic challenge unless one grants).
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { type Logger, MirrorError, type ServeAuthenticator } from '@trivy-mirror/plugin-api';
import type { ClientsSeen } from './clients-seen.js';
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

async function authorize(
  authenticators: ServeAuthenticator[],
  req: IncomingMessage,
  log: Logger,
): Promise<boolean> {
  if (authenticators.length === 0) return true;
  for (const a of authenticators) {
    try {
      if ((await a.authenticate(req)) === 'granted') return true;
    } catch (err) {
      log.error({ err, authenticator: a.id }, 'authenticator failed');
    }
  }
  return false;
}

export async function createServeListener(options: {
  listen: string;
  tls?: { cert: string; key: string };
  logger: Logger;
  state: ServeState;
  /** Counts what each client fetches. */
  clients?: ClientsSeen;
}): Promise<HttpListener> {
  const tls = options.tls ? await readTlsFiles(options.tls) : undefined;
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
      const authorized = await authorize(options.state.authenticators(), req, options.logger);
      options.clients?.watch(req, res, url, authorized);
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

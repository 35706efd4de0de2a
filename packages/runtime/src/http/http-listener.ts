// An HTTP(S) listener with keep-alive, request logging at debug, JSON 404 and 500 (no stacks), and
// in-flight tracking so shutdown can drain requests before closing connections.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type Logger, MirrorError } from '@trivy-mirror/plugin-api';
import { formatHostPort, parseListen } from './listen-address.js';
import { sendJson, sendNotFound } from './router.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

export interface HttpListenerOptions {
  name: 'admin' | 'serve';
  listen: string;
  tls?: { cert: Buffer; key: Buffer };
  logger: Logger;
  handler: RequestHandler;
}

export class HttpListener {
  readonly server: Server;
  #inFlight = 0;
  #idle: (() => void)[] = [];

  constructor(private readonly options: HttpListenerOptions) {
    const onRequest = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    const common = { keepAlive: true, keepAliveTimeout: 5000, requestTimeout: 0, headersTimeout: 30_000 };
    this.server = options.tls
      ? (createHttpsServer(
          { ...common, cert: options.tls.cert, key: options.tls.key },
          onRequest,
        ) as unknown as Server)
      : createHttpServer(common, onRequest);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  async listen(): Promise<{ host: string; port: number; url: string }> {
    const { host, port } = parseListen(this.options.listen);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        this.server.off('listening', onListening);
        const { name, listen } = this.options;
        // The common case gets what to do, not errno's words.
        const why =
          err.code === 'EADDRINUSE'
            ? `the address is already in use (EADDRINUSE): another trivy-mirror or another program listens there; set ${name}.listen (or TRIVY_MIRROR_${name.toUpperCase()}_LISTEN) to a free address`
            : err.message;
        reject(new MirrorError('LISTEN_FAILED', `${name}.listen ${listen}: ${why}`, { cause: err }));
      };
      const onListening = () => {
        this.server.off('error', onError);
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen(port, host);
    });
    this.server.on('error', (err) =>
      this.options.logger.error({ err, listener: this.options.name }, 'listener error'),
    );
    const addr = this.address()!;
    this.options.logger.info({ listener: this.options.name, url: addr.url }, 'listening');
    return addr;
  }

  address(): { host: string; port: number; url: string } | undefined {
    const a = this.server.address() as AddressInfo | null;
    if (!a || typeof a === 'string') return undefined;
    const scheme = this.options.tls ? 'https' : 'http';
    return { host: a.address, port: a.port, url: `${scheme}://${formatHostPort(a.address, a.port)}` };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#inFlight++;
    const started = performance.now();
    const log = this.options.logger;
    res.on('close', () => {
      this.#inFlight--;
      log.debug(
        {
          listener: this.options.name,
          method: req.method,
          path: req.url?.split('?')[0],
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        'request',
      );
      if (this.#inFlight === 0) for (const r of this.#idle.splice(0)) r();
    });
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendJson(res, 400, { error: 'bad request' });
      return;
    }
    try {
      const handled = await this.options.handler(req, res, url);
      if (!handled && !res.headersSent) sendNotFound(res, url);
    } catch (err) {
      log.error(
        { err, listener: this.options.name, method: req.method, path: url.pathname },
        'request failed',
      );
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  }

  /** Stops accepting, lets in-flight requests finish for up to `timeoutMs`, then closes every connection. */
  async close(timeoutMs: number): Promise<boolean> {
    if (!this.server.listening) return true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    let drained = this.#inFlight === 0;
    if (!drained) {
      let t: NodeJS.Timeout | undefined;
      drained = await Promise.race([
        new Promise<boolean>((r) => this.#idle.push(() => r(true))),
        new Promise<boolean>((r) => (t = setTimeout(() => r(false), timeoutMs))),
      ]);
      clearTimeout(t);
    }
    this.server.closeAllConnections();
    await closed;
    return drained;
  }
}

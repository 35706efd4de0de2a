// A stand-in admin listener for `trivy-mirror run` while the app's modules load (up to a second or more
// on a busy host): /healthz says the process is alive, /readyz says it is starting. It imports only
// node built-ins and is closed just before the runtime binds the real admin listener on the same address.
// It answers between module loads only (evaluation blocks the event loop): `run` loads in turns. A
// worker thread would answer at any time, but took 85-180 ms to listen here (vs ~1 ms).
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { configPathFrom, parseHostPort, quickAdminListen } from './admin-address.js';
import { nodeHttp } from './node-http.js';

export { adminListenFromYaml } from './admin-address.js';

let early: Server | undefined;
/** The stand-in's connections not closed yet: requests it has still to answer. */
const open = new Set<Socket>();

/** Binds the stand-in listener for `run`; resolves undefined (and does nothing) when it cannot. */
export async function startEarlyHealth(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Server | undefined> {
  const args = argv.slice(2);
  if (args[0] !== 'run' || args.includes('--help') || args.includes('-h')) return undefined;
  // no readable file: no stand-in, the runtime reports it
  const listen = quickAdminListen(configPathFrom(args, env), env);
  const addr = listen ? parseHostPort(listen) : undefined;
  if (!addr || addr.port === 0) return undefined;
  const server = nodeHttp().createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown) => {
      const text = `${JSON.stringify(body)}\n`;
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
        connection: 'close',
        ...(status === 503 ? { 'retry-after': '1' } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    if (path === '/healthz') send(200, { status: 'ok', phase: 'starting' });
    else if (path === '/readyz')
      send(503, { status: 'not ready', phase: 'starting', reasons: ['runtime is starting'] });
    else send(503, { error: 'starting', phase: 'starting' });
  });
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  const ok = await new Promise<boolean>((done) => {
    server.once('error', () => done(false)); // e.g. in use: the real listener says so
    server.listen(addr.port, addr.host, () => done(true));
  });
  if (!ok) return undefined;
  early = server;
  return server;
}

/** Releases the address for the real admin listener (called right before the runtime starts). */
export async function closeEarlyHealth(): Promise<void> {
  const server = early;
  early = undefined;
  if (!server) return;
  await new Promise<void>((done) => {
    server.close(() => done());
    server.closeAllConnections();
  });
}

const turn = () => new Promise<void>((done) => setImmediate(done));

/**
 * Turns of the event loop, so that the stand-in answers requests that arrived meanwhile. Called from
 * a callback of the poll phase, the first turn ends before the next poll; the second polls: accepts
 * the connection, or reads and answers a request on one accepted before. While connections are
 * open, a few more turns (bounded: a client that sends nothing must not stall start-up).
 */
export async function letStandInAnswer(): Promise<void> {
  await turn();
  await turn();
  for (let i = 0; i < 8 && open.size > 0; i++) await turn();
}

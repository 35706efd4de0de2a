// A stand-in admin listener for `trivy-mirror run` while the app's modules load (up to a second or more
// on a busy host): /healthz says the process is alive, /readyz says it is starting. It runs in a worker
// thread: loading modules blocks the main thread for hundreds of ms at a time, and a listener there
// would accept connections but answer none until loading is over. Closed just before the runtime binds
// the real admin listener on the same address.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { configPathFrom, quickAdminListen } from './admin-address.js';

export { adminListenFromYaml } from './admin-address.js';

// CommonJS evaluated by the worker (eval: no file to load, which a single executable could not).
const STAND_IN = `
const { createServer } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const server = createServer((req, res) => {
  const path = (req.url || '/').split('?')[0];
  const [status, body] =
    path === '/healthz' ? [200, { status: 'ok', phase: 'starting' }]
    : path === '/readyz' ? [503, { status: 'not ready', phase: 'starting', reasons: ['runtime is starting'] }]
    : [503, { error: 'starting', phase: 'starting' }];
  const text = JSON.stringify(body) + '\\n';
  res.writeHead(status, Object.assign({
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    connection: 'close',
  }, status === 503 ? { 'retry-after': '1' } : {}));
  res.end(req.method === 'HEAD' ? undefined : text);
});
server.once('error', () => { parentPort.postMessage(false); parentPort.close(); });
server.listen(workerData.port, workerData.host, () => parentPort.postMessage(true));
parentPort.once('message', () => { server.close(); server.closeAllConnections(); parentPort.close(); });
`;

let early: Worker | undefined;

function parseHostPort(listen: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  if (!m) return undefined;
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
}

/** Binds the stand-in listener for `run`; resolves undefined (and does nothing) when it cannot. */
export async function startEarlyHealth(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Worker | undefined> {
  const args = argv.slice(2);
  if (args[0] !== 'run' || args.includes('--help') || args.includes('-h')) return undefined;
  // no readable file: no stand-in, the runtime reports it
  const listen = quickAdminListen(configPathFrom(args, env), env);
  const addr = listen ? parseHostPort(listen) : undefined;
  if (!addr || addr.port === 0) return undefined;
  const worker = new Worker(STAND_IN, {
    eval: true,
    execArgv: [], // CommonJS whatever the main thread's flags (--input-type, --import)
    workerData: addr,
    stdout: true, // its output is not the daemon's
    stderr: true,
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
  });
  // false: e.g. in use (the real listener says so)
  const ok = await new Promise<boolean>((done) => {
    worker.once('message', (listening: boolean) => done(listening));
    worker.once('error', () => done(false));
    worker.once('exit', () => done(false));
  });
  if (!ok) {
    await worker.terminate();
    return undefined;
  }
  early = worker;
  return worker;
}

/** Releases the address for the real admin listener (called right before the runtime starts). */
export async function closeEarlyHealth(): Promise<void> {
  const worker = early;
  early = undefined;
  if (!worker) return;
  const exited = once(worker, 'exit');
  worker.postMessage('close');
  await exited;
}

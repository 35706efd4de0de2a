// A reverse proxy in front of a test registry that streams blob bodies slowly (bytes per second), so a
// sync of a modest artifact stays in flight long enough to interrupt it. Other requests pass through.
import { once } from 'node:events';
import { createServer, request } from 'node:http';

export interface ThrottleProxy {
  host: string;
  url: string;
  /** Blob GETs whose body has started. */
  blobBodiesStarted: number;
  stop(): Promise<void>;
}

export async function startThrottleProxy(options: {
  upstream: string;
  bytesPerSecond: number;
}): Promise<ThrottleProxy> {
  const up = new URL(options.upstream);
  const chunk = Math.max(1024, Math.floor(options.bytesPerSecond / 10));
  const state = { blobBodiesStarted: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const upstreamReq = request(
      {
        host: up.hostname,
        port: up.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: up.host },
      },
      (upRes) => {
        const headers = { ...upRes.headers };
        if (typeof headers.location === 'string')
          headers.location = headers.location.replace(up.host, proxy.host);
        res.writeHead(upRes.statusCode ?? 502, headers);
        const slow = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
        if (!slow) {
          upRes.pipe(res);
          return;
        }
        state.blobBodiesStarted++;
        // Read everything, then dribble it out at the configured rate.
        const parts: Buffer[] = [];
        upRes.on('data', (d: Buffer) => parts.push(d));
        upRes.on('end', () => {
          const body = Buffer.concat(parts);
          let offset = 0;
          const tick = () => {
            if (res.destroyed) return;
            const next = body.subarray(offset, offset + chunk);
            offset += next.length;
            if (offset >= body.length) {
              res.end(next);
              return;
            }
            res.write(next);
            const t = setTimeout(() => {
              timers.delete(t);
              tick();
            }, 100);
            timers.add(t);
          };
          tick();
        });
      },
    );
    upstreamReq.on('error', () => res.destroy());
    req.pipe(upstreamReq);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const proxy: ThrottleProxy = {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    get blobBodiesStarted() {
      return state.blobBodiesStarted;
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  return proxy;
}

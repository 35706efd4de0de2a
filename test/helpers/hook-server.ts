// A local HTTP endpoint that records every JSON POST it receives (for webhook plugins).
import { once } from 'node:events';
import { createServer } from 'node:http';

export interface HookServer {
  url: string;
  received: {
    path: string;
    headers: Record<string, string | string[] | undefined>;
    body: Record<string, unknown>;
  }[];
  close(): Promise<void>;
}

export async function startHookServer(): Promise<HookServer> {
  const received: HookServer['received'] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => {
      try {
        received.push({ path: req.url ?? '/', headers: req.headers, body: JSON.parse(text) });
        res.writeHead(204).end();
      } catch {
        res.writeHead(400).end('not JSON');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    received,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

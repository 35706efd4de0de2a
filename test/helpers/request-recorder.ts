// A listener that stands where a registry or VEX host would be and records every request it gets,
// answering 503: a test that expects Trivy to make no request points every repository flag here and
// asserts the list stays empty.
import { once } from 'node:events';
import { createServer } from 'node:http';

export interface RequestRecorder {
  host: string;
  url: string;
  requests: { method: string; url: string; userAgent?: string }[];
  close(): Promise<void>;
}

/** Every repository flag of Trivy pointed at `host`: a download attempt lands there. */
export function repositoryFlagsAt(host: string): string[] {
  return [
    '--db-repository',
    `${host}/trivy-db:2`,
    '--java-db-repository',
    `${host}/trivy-java-db:1`,
    '--checks-bundle-repository',
    `${host}/trivy-checks:2`,
  ];
}

export async function startRequestRecorder(): Promise<RequestRecorder> {
  const requests: RequestRecorder['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '?', url: req.url ?? '', userAgent: req.headers['user-agent'] });
    res.writeHead(503, { 'content-type': 'text/plain', connection: 'close' });
    res.end('recorded: this listener stands for a host that must not be asked\n');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    host,
    url: `http://${host}`,
    requests,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => {});
    },
  };
}

// A local HTTP server that plays a VEX repository host (spec layout) and GitHub, serving the real
// VEX Hub snapshot the repository ships (tools/fixtures/vexhub). Counts requests so tests can check conditional fetches.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import { vexhubSnapshotDir } from '@trivy-mirror/fixtures';

export const vexhubDir = vexhubSnapshotDir;

export interface VexServer {
  url: string;
  requests: { method: string; path: string; status: number; headers: IncomingMessage['headers'] }[];
  /** Replace the archive served (for "changed upstream" tests). */
  setArchive(kind: 'zip' | 'tar.gz', bytes: Buffer): void;
  close(): Promise<void>;
}

/** `options.baseFromHost`: archive locations name the host the request named (a name only a proxy resolves). */
export async function startVexServer(options: { baseFromHost?: boolean } = {}): Promise<VexServer> {
  const archives = {
    zip: readFileSync(`${vexhubDir}/vexhub-main.zip`),
    'tar.gz': readFileSync(`${vexhubDir}/vexhub-main.tar.gz`),
  } as Record<'zip' | 'tar.gz', Buffer>;
  const upstreamManifest = JSON.parse(readFileSync(`${vexhubDir}/vex-repository.json`, 'utf8'));
  const requests: VexServer['requests'] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (status: number, body: Buffer | string, headers: Record<string, string> = {}) => {
      requests.push({ method: req.method ?? 'GET', path, status, headers: req.headers });
      const buf = typeof body === 'string' ? Buffer.from(body) : body;
      res.writeHead(status, { 'content-length': String(buf.length), ...headers });
      res.end(req.method === 'HEAD' ? undefined : buf);
    };
    const conditional = (body: Buffer, type: string) => {
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
      if (req.headers['if-none-match'] === etag) return send(304, '', { etag });
      return send(200, body, { etag, 'content-type': type, 'last-modified': new Date(0).toUTCString() });
    };
    // spec repository: /vexhub/.well-known/vex-repository.json → archive on this server
    if (
      path === '/vexhub/.well-known/vex-repository.json' ||
      path === '/vexhub-tgz/.well-known/vex-repository.json'
    ) {
      const kind = path.startsWith('/vexhub-tgz') ? 'tar.gz' : 'zip';
      const m = structuredClone(upstreamManifest);
      const from = options.baseFromHost && req.headers.host ? `http://${req.headers.host}` : base;
      m.versions[0].locations = [{ url: `${from}/archives/main.${kind}//vexhub-main` }];
      return conditional(Buffer.from(JSON.stringify(m, null, 2)), 'application/json');
    }
    // GitHub: raw file and archive
    if (path === '/raw/aquasecurity/vexhub/main/vex-repository.json') {
      return conditional(Buffer.from(JSON.stringify(upstreamManifest, null, 2)), 'text/plain');
    }
    if (path === '/archives/main.zip' || path === '/aquasecurity/vexhub/archive/refs/heads/main.zip') {
      return conditional(archives.zip, 'application/zip');
    }
    if (path === '/archives/main.tar.gz' || path === '/aquasecurity/vexhub/archive/refs/heads/main.tar.gz') {
      return conditional(archives['tar.gz'], 'application/gzip');
    }
    return send(404, 'not found');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url: base,
    requests,
    setArchive(kind, bytes) {
      archives[kind] = bytes;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

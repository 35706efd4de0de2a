// A tiny loopback HTTP server holding a synthetic VEX repository (vex-repo-spec 0.1 layout), so the
// daemon's vexhub-mirror plugin has an offline source in the sync/run benchmarks.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateVexRepository } from '@trivy-mirror/fixtures';

export interface VexServer {
  url: string;
  close(): Promise<void>;
}

export async function startVexServer(dir: string): Promise<VexServer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const repo = await generateVexRepository({ dir, format: 'zip', archiveUrl: `${url}/vexhub-main.zip` });
  const manifest = await readFile(repo.manifestPath);
  server.on('request', (req, res) => {
    if (req.url === '/.well-known/vex-repository.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': manifest.length });
      res.end(req.method === 'HEAD' ? undefined : manifest);
    } else if (req.url === '/vexhub-main.zip') {
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': repo.archiveSize });
      if (req.method === 'HEAD') res.end();
      else createReadStream(repo.archivePath).pipe(res);
    } else {
      res.writeHead(404).end();
    }
  });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

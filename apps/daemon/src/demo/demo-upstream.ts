// The demo's stand-in for the public internet: Trivy artifacts served by a read-only registry on loopback
// (like mirror.gcr.io/aquasec/…) and a VEX repository (spec layout). In a checkout they hold the
// real-format fixture data (a BoltDB trivy.db, a SQLite java DB, Rego checks, the VEX Hub snapshot), so a
// real Trivy can scan with them, and so in the single executable, which carries them (fixture-data.ts);
// when a size is asked for, synthetic bytes of the real shapes.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { join } from 'node:path';
import {
  generateVexRepository,
  seedUpstream,
  TRIVY_DATA,
  useFixtureDataRoot,
  writeFixtureVexRepository,
} from '@trivy-mirror/fixtures';
import { OciLayout } from '@trivy-mirror/oci';
import { createRegistryHandler } from '@trivy-mirror/oci/serve';
import { writeEmbeddedFixtureData } from './fixture-data.js';

export interface DemoUpstream {
  /** host:port of the registry, artifacts under `aquasec/`. */
  registryHost: string;
  /** Spec VEX repository URL (serves /.well-known/vex-repository.json). */
  vexUrl: string;
  digests: Record<string, string>;
  /** The fixture project a real Trivy finds the fixture CVEs in; undefined with synthetic data. */
  projectDir?: string;
  close(): Promise<void>;
}

/** Whether the real-format fixture data is on disk (a checkout has it; the single executable does not). */
export function realDataAvailable(): boolean {
  return existsSync(TRIVY_DATA.dbFile) && existsSync(TRIVY_DATA.projectDir);
}

/** `dbBytes`: synthetic databases of that size; otherwise the real-format data where it is available. */
export async function startDemoUpstream(root: string, options: { dbBytes?: number }): Promise<DemoUpstream> {
  const layoutRoot = join(root, 'layouts');
  if (options.dbBytes === undefined) {
    const embedded = await writeEmbeddedFixtureData(root);
    if (embedded) useFixtureDataRoot(embedded);
  }
  const real = options.dbBytes === undefined && realDataAvailable();
  const dbBytes = options.dbBytes ?? 8 * 1024 * 1024;
  const seeded = await seedUpstream({
    layoutRoot,
    workDir: join(root, 'work'),
    content: real ? 'real' : 'synthetic',
    dbBytes,
    javaDbBytes: dbBytes,
    seed: 'trivy-mirror-demo',
  });
  const known = new Set(seeded.artifacts.map((a) => a.name as string));
  const registry = createRegistryHandler({
    pathPrefix: 'aquasec',
    repositories: async () => [...known],
    resolveLayout: async (repo) => (known.has(repo) ? OciLayout.open(join(layoutRoot, repo)) : undefined),
  });
  let base = '';
  let vex: { manifestPath: string; archivePath: string } | undefined;
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = async (file: string, type: string) => {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': type, 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const fail = (err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    };
    if (vex && path === '/vexhub/.well-known/vex-repository.json') {
      send(vex.manifestPath, 'application/json').catch(fail);
      return;
    }
    if (vex && path === '/vexhub/archive/main.zip') {
      send(vex.archivePath, 'application/zip').catch(fail);
      return;
    }
    registry(req, res).then((handled) => {
      if (!handled) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      }
    }, fail);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  base = `http://127.0.0.1:${port}`;
  const archiveUrl = `${base}/vexhub/archive/main.zip`;
  const generated = real
    ? await writeFixtureVexRepository({ dir: join(root, 'vex'), archiveUrl })
    : await generateVexRepository({
        dir: join(root, 'vex'),
        name: 'vexhub',
        packages: 8,
        format: 'zip',
        archiveUrl,
      });
  vex = { manifestPath: generated.manifestPath, archivePath: generated.archivePath };
  return {
    registryHost: `127.0.0.1:${port}`,
    vexUrl: `${base}/vexhub`,
    digests: seeded.digests,
    projectDir: real ? TRIVY_DATA.projectDir : undefined,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => {});
    },
  };
}

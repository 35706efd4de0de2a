// HttpRoute contributions on the serve listener: repository manifests under /.well-known/ and the archives.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpRoute } from '@trivy-mirror/plugin-api';
import { sendBody, sendJsonError } from './file-response.js';
import { archiveFileName } from '../versions/version-store.js';
import type { ServedRepository, VexMirror } from '../vex-mirror.js';

const WELL_KNOWN = '/.well-known/vex-repository.json';

function notMirrored(req: IncomingMessage, res: ServerResponse, r: ServedRepository): true {
  sendJsonError(req, res, 503, `VEX repository ${r.config.name} has not been mirrored yet`);
  return true;
}

async function sendManifest(
  mirror: VexMirror,
  req: IncomingMessage,
  res: ServerResponse,
  r: ServedRepository,
) {
  await mirror.load();
  const p = r.published;
  if (!p || !r.manifest) return notMirrored(req, res, r);
  await sendBody(req, res, {
    buffer: r.manifest,
    size: r.manifest.length,
    contentType: 'application/json',
    lastModified: new Date(p.publishedAt),
    etag: `"m-${p.version.slice(0, 32)}-${Date.parse(p.publishedAt)}"`,
    conditional: mirror.config.etag,
  });
  return true;
}

export function createVexRoutes(mirror: VexMirror): HttpRoute[] {
  const prefix = mirror.config.pathPrefix;
  const routes: HttpRoute[] = [
    {
      id: 'vexhub-mirror.manifest',
      listener: 'serve',
      prefix: WELL_KNOWN,
      handle: (req, res, url) => {
        const first = mirror.defaultRepository(); // none with `repositories: []`: 404
        return url.pathname === WELL_KNOWN && first ? sendManifest(mirror, req, res, first) : false;
      },
    },
  ];
  for (const r of mirror.repositories()) {
    const path = `/${r.config.name}${WELL_KNOWN}`;
    routes.push({
      id: `vexhub-mirror.manifest.${r.config.name}`,
      listener: 'serve',
      prefix: path,
      handle: (req, res, url) => (url.pathname === path ? sendManifest(mirror, req, res, r) : false),
    });
  }
  routes.push({
    id: 'vexhub-mirror.archive',
    listener: 'serve',
    prefix: `${prefix}/`,
    async handle(req, res, url) {
      const m = /^\/([^/]+)\/(archive\.zip|archive\.tar\.gz)$/.exec(url.pathname.slice(prefix.length));
      const r = m ? mirror.repository(m[1]) : undefined;
      if (!m || !r) return false;
      await mirror.load();
      const p = r.published;
      if (!p) return notMirrored(req, res, r);
      // Only the format that is held: the manifest names it.
      if (archiveFileName(p.archiveType) !== m[2]) return false;
      await sendBody(req, res, {
        file: r.store.archivePath(p),
        size: p.archiveSize,
        contentType: p.archiveType === 'zip' ? 'application/zip' : 'application/gzip',
        lastModified: new Date(p.publishedAt),
        etag: `"${p.version}"`,
        conditional: mirror.config.etag,
      });
      return true;
    },
  });
  return routes;
}

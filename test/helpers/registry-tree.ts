// The published registry tree behind Debian's nginx with the shipped deploy/nginx conf (templated for
// a loopback port and the tree's root), and a Trivy-like pull through it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, type RunningNginx, startNginx } from '@trivy-mirror/fixtures';
import { repoRoot } from './daemon-process.js';
import { MANIFEST_ACCEPT, sha256 } from './oci-e2e.js';

export const SHIPPED_CONF = join(repoRoot, 'deploy/nginx/trivy-mirror-registry.conf');

export interface TreeNginx extends RunningNginx {
  /** '127.0.0.1:PORT' of the tree's server (the harness's own server block stays unused). */
  treeHost: string;
  treeUrl: string;
}

/** The shipped conf with `listen` and the publish dir replaced; everything else as shipped. */
export async function templatedConf(root: string, port: number): Promise<string> {
  const conf = await readFile(SHIPPED_CONF, 'utf8');
  const out = conf
    .replace(/^(\s*)listen 8080;$/m, `$1listen 127.0.0.1:${port};`)
    .replace(/set \$trivy_mirror_root \/srv\/trivy-mirror\/registry;/, `set $trivy_mirror_root ${root};`);
  assert.notEqual(out, conf, 'the shipped conf has the listen and root lines the template replaces');
  return out;
}

export async function startTreeNginx(root: string): Promise<TreeNginx> {
  const port = await freePort();
  const nginx = await startNginx({ http: await templatedConf(root, port), server: 'return 404;' });
  const treeHost = `127.0.0.1:${port}`;
  const treeUrl = `http://${treeHost}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${treeUrl}/v2/`).then(
      (r) => r.arrayBuffer().then(() => true),
      () => false,
    );
    if (ok) break;
    if (i > 100) throw new Error(`nginx on ${treeHost} does not answer; see ${nginx.errorLog}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { ...nginx, treeHost, treeUrl };
}

export interface PullResult {
  digest: string;
  layerDigest: string;
  bytes: number;
}

/**
 * What Trivy's pull does: manifest by tag with the full Accept list, the digest header checked
 * against the body, then the one layer, hashed and compared. Throws on anything wrong.
 */
export async function trivyLikePull(baseUrl: string, repository: string, tag: string): Promise<PullResult> {
  const res = await fetch(`${baseUrl}/v2/${repository}/manifests/${tag}`, {
    headers: { accept: MANIFEST_ACCEPT },
    signal: AbortSignal.timeout(30_000),
  });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`manifest ${repository}:${tag}: HTTP ${res.status} ${body}`);
  const digest = sha256(body);
  const header = res.headers.get('docker-content-digest');
  if (header !== digest) throw new Error(`manifest ${repository}:${tag}: header ${header}, body ${digest}`);
  const manifest = JSON.parse(body.toString('utf8')) as {
    mediaType?: string;
    layers: { digest: string; size: number }[];
  };
  const type = res.headers.get('content-type');
  if (type !== (manifest.mediaType ?? type)) throw new Error(`manifest ${digest}: Content-Type ${type}`);
  const layer = manifest.layers[0];
  const blob = await fetch(`${baseUrl}/v2/${repository}/blobs/${layer.digest}`, {
    signal: AbortSignal.timeout(60_000),
  });
  if (blob.status !== 200) {
    await blob.arrayBuffer().catch(() => undefined);
    throw new Error(`blob ${layer.digest} of ${digest}: HTTP ${blob.status}`);
  }
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of blob.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    size += chunk.length;
  }
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== layer.digest || size !== layer.size) {
    throw new Error(`blob ${layer.digest} of ${digest}: got ${got}, ${size} of ${layer.size} bytes`);
  }
  return { digest, layerDigest: layer.digest, bytes: size };
}

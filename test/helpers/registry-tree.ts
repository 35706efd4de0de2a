// A Trivy-like pull through the published registry tree (nginx: @trivy-mirror/fixtures).
import { createHash } from 'node:crypto';
import { MANIFEST_ACCEPT, sha256 } from './oci-e2e.js';

export {
  startRegistryTreeNginx as startTreeNginx,
  type RegistryTreeNginx as TreeNginx,
} from '@trivy-mirror/fixtures';

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

// Checks that an OCI layout a peer wrote (regsync's `ocidir://`, skopeo's `oci:`) holds the tag at the
// expected manifest digest, with the layer blob in full: the store side of sync, checked like the
// destination side is.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

interface IndexJson {
  manifests?: { digest: string; annotations?: Record<string, string> }[];
}

/** Throws unless `dir`'s index.json tags `tag` as `manifestDigest` and the layer blob has `layer.size` bytes. */
export async function assertLayoutTag(
  dir: string,
  tag: string,
  manifestDigest: string,
  layer: { digest: string; size: number },
): Promise<void> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as IndexJson;
  const entry = index.manifests?.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (entry?.digest !== manifestDigest) {
    throw new Error(`${dir}: tag ${tag} is ${entry?.digest ?? '(absent)'}, expected ${manifestDigest}`);
  }
  const [algo, hex] = layer.digest.split(':');
  const size = (await stat(join(dir, 'blobs', algo, hex))).size;
  if (size !== layer.size) throw new Error(`${dir}: layer blob has ${size} bytes, expected ${layer.size}`);
}

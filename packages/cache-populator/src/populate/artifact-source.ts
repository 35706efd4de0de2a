// Where populate reads artifacts from: the local store (one OCI layout per repository) or any
// Transport (e.g. a RegistryClient for `populate --from-registry PREFIX`). Checks the shape Trivy
// requires and hands back a verified layer stream.
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  type Descriptor,
  type ManifestBytes,
  OciLayout,
  type Reference,
  type Transport,
  createVerifyStream,
} from '@trivy-mirror/oci';
import { ArtifactInvalidError, MirrorError } from '@trivy-mirror/plugin-api';
import { ioChunkBytes } from '../disk/safe-extract.js';

export type PopulateSource =
  /** The store tree: one OCI layout per repository at `root/<repository>`. */
  | { kind: 'layout'; root: string }
  /**
   * The same, with the layout path per repository from the runtime's ArtifactStore; `admit` refuses a
   * version before it is read (trust.require: one no trusted key signed).
   */
  | {
      kind: 'store';
      layoutPath(repository: string): string;
      admit?(layout: OciLayout, repository: string, tag: string, digest: string): Promise<void>;
    }
  | { kind: 'transport'; transport: Transport; refFor(repository: string, tag: string): Reference };

export interface OpenedArtifact {
  repository: string;
  tag: string;
  manifest: ManifestBytes;
  layer: Descriptor;
  /** The compressed layer; errors at its end when size or digest do not match. */
  openLayer(signal?: AbortSignal): Promise<Readable>;
}

function layoutDir(source: Exclude<PopulateSource, { kind: 'transport' }>, repository: string): string {
  return source.kind === 'layout' ? path.join(source.root, repository) : source.layoutPath(repository);
}

/** Highest numeric tag, e.g. ['1','2'] -> '2'. */
export function newestNumericTag(tags: string[]): string | undefined {
  const numeric = tags.filter((t) => /^[0-9]+$/.test(t)).sort((a, b) => Number(b) - Number(a));
  return numeric[0];
}

export async function listTags(
  source: PopulateSource,
  repository: string,
  signal?: AbortSignal,
): Promise<string[]> {
  if (source.kind !== 'transport') {
    const layout = await OciLayout.open(layoutDir(source, repository));
    return layout.tags();
  }
  return source.transport.tagList(source.refFor(repository, 'latest'), { signal });
}

/** Exactly one layer with the expected media type and a local file name as title, as Trivy demands. */
export function checkArtifactShape(
  manifest: ManifestBytes,
  expectedMediaType: string,
  what: string,
): Descriptor {
  const layers = manifest.manifest.layers ?? [];
  if (layers.length !== 1) {
    throw new ArtifactInvalidError(`${what}: expected exactly one layer, found ${layers.length}`);
  }
  const layer = layers[0];
  if (layer.mediaType !== expectedMediaType) {
    throw new ArtifactInvalidError(
      `${what}: layer media type ${layer.mediaType}, expected ${expectedMediaType}`,
    );
  }
  return layer;
}

export async function openArtifact(
  source: PopulateSource,
  repository: string,
  tag: string,
  expectedMediaType: string,
  signal?: AbortSignal,
): Promise<OpenedArtifact> {
  if (source.kind !== 'transport') {
    const dir = layoutDir(source, repository);
    if (!existsSync(path.join(dir, 'oci-layout'))) {
      // Not synced yet: a normal state at first start, not a failure.
      throw new MirrorError('ARTIFACT_MISSING', `store has no ${repository} yet (${dir})`);
    }
    const layout = await OciLayout.open(dir);
    const manifest = await layout.manifestGet(tag);
    if (!manifest) throw new MirrorError('ARTIFACT_MISSING', `store has no ${repository}:${tag} (${dir})`);
    if (source.kind === 'store') await source.admit?.(layout, repository, tag, manifest.descriptor.digest);
    const layer = checkArtifactShape(manifest, expectedMediaType, `${repository}:${tag}`);
    return {
      repository,
      tag,
      manifest,
      layer,
      async openLayer() {
        // Large reads for large layers: fewer hops through the hash and gunzip (see ioChunkBytes).
        const raw = createReadStream(layout.blobPath(layer.digest), {
          highWaterMark: ioChunkBytes(layer.size),
        });
        const verify = createVerifyStream(layer);
        raw.on('error', (err) => verify.destroy(err));
        return raw.pipe(verify);
      },
    };
  }
  const ref = source.refFor(repository, tag);
  const manifest = await source.transport.manifestGet(ref, { signal });
  const layer = checkArtifactShape(manifest, expectedMediaType, `${repository}:${tag}`);
  return {
    repository,
    tag,
    manifest,
    layer,
    openLayer: (sig) => source.transport.blobGet(ref, layer, { signal: sig }),
  };
}

// Test helper: synthetic single-layer Trivy-shaped artifacts (deterministic bytes) in both manifest
// shapes, written to files so pushes stream them; plus small process helpers for skopeo.
import { execFile } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Descriptor, MediaType, OciLayout, sha256Digest } from '@trivy-mirror/oci';

export const run = promisify(execFile);

export interface TestArtifact {
  manifestBytes: Buffer;
  manifestDigest: string;
  mediaType: string;
  config: Descriptor;
  configBytes: Buffer;
  layer: Descriptor;
  layerPath: string;
}

/** Deterministic pseudo-random bytes: AES-256-CTR over zeros keyed by the seed (fast, no buffer kept). */
export function deterministicBytes(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

export async function buildArtifact(options: {
  dir: string;
  shape: 'oci-1.1' | 'legacy';
  layerBytes: number;
  seed: string;
}): Promise<TestArtifact> {
  const layerPath = join(options.dir, `${options.seed}.layer`);
  const data = deterministicBytes(options.seed, options.layerBytes);
  await writeFile(layerPath, data);
  const layer: Descriptor = {
    mediaType: MediaType.TrivyDbLayer,
    digest: sha256Digest(data),
    size: data.length,
    annotations: { 'org.opencontainers.image.title': 'db.tar.gz' },
  };
  const configBytes =
    options.shape === 'oci-1.1' ? Buffer.from('{}') : Buffer.from(`{"seed":${JSON.stringify(options.seed)}}`);
  const config: Descriptor = {
    mediaType: options.shape === 'oci-1.1' ? MediaType.OciEmpty : MediaType.TrivyConfig,
    digest: sha256Digest(configBytes),
    size: configBytes.length,
  };
  const manifest: Record<string, unknown> = { schemaVersion: 2, mediaType: MediaType.OciManifest };
  if (options.shape === 'oci-1.1') manifest.artifactType = 'application/vnd.aquasec.trivy.config.v1+json';
  manifest.config = config;
  manifest.layers = [layer];
  manifest.annotations = { 'org.opencontainers.image.created': '2026-11-25T00:00:00Z' };
  // not JSON.stringify's default spacing, so a client that re-serialises would change the digest
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`);
  return {
    manifestBytes,
    manifestDigest: sha256Digest(manifestBytes),
    mediaType: MediaType.OciManifest,
    config,
    configBytes,
    layer,
    layerPath,
  };
}

/** Writes the artifact into an OCI layout under `tag` (blobs first, manifest last). */
export async function writeToLayout(dir: string, tag: string, a: TestArtifact): Promise<void> {
  const layout = await OciLayout.open(dir, { create: true });
  await layout.blobWrite(a.layer, createReadStream(a.layerPath));
  await layout.blobWriteBytes(a.configBytes);
  await layout.manifestPut(a.manifestBytes, a.mediaType, { tag });
}

/** Pushes a layout tag to a registry with skopeo (an independent client). */
export async function skopeoPush(layoutDir: string, tag: string, dest: string): Promise<void> {
  await run('skopeo', [
    'copy',
    '--quiet',
    '--preserve-digests',
    '--dest-tls-verify=false',
    `oci:${layoutDir}:${tag}`,
    `docker://${dest}`,
  ]);
}

/** sha256 of `skopeo inspect --raw` output for a registry reference. */
export async function skopeoRawDigest(ref: string): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], {
    encoding: 'buffer',
    maxBuffer: 8 * 1024 * 1024,
  });
  return sha256Digest(stdout as unknown as Buffer);
}

/** Statuses of HEAD requests with plain fetch (independent of the client under test). */
export async function headStatus(url: string, accept?: string): Promise<number> {
  const res = await fetch(url, { method: 'HEAD', headers: accept ? { accept } : {} });
  return res.status;
}

export const MANIFEST_ACCEPT_HEADER = [
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
].join(', ');

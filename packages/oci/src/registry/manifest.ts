// Manifest operations against a registry: HEAD/GET/PUT with the full Accept list, a 4 MiB cap,
// bytes kept verbatim and the digest checked against Docker-Content-Digest or the pinned digest.
import { repositoryScope } from './auth.js';
import { sha256Digest } from '../digest.js';
import { OciError, OciErrorCode } from '../errors.js';
import { dumpBody, header, readBody } from '../connection/http-transport.js';
import { formatReference, referenceTarget } from '../reference.js';
import type { RegistryHttp } from './registry-http.js';
import {
  type Descriptor,
  type ImageManifest,
  MANIFEST_ACCEPT,
  MANIFEST_MAX_BYTES,
  type ManifestBytes,
} from '../types.js';

export type RegistryRef = {
  kind: 'registry';
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
};

const ACCEPT = MANIFEST_ACCEPT.join(', ');

function manifestPath(ref: RegistryRef): string {
  return `/v2/${ref.repository}/manifests/${referenceTarget(ref)}`;
}

function tooLarge(ref: RegistryRef, size: number | string): OciError {
  return new OciError(
    OciErrorCode.MANIFEST_TOO_LARGE,
    `manifest ${formatReference(ref)} is larger than ${MANIFEST_MAX_BYTES} bytes (${size})`,
    { target: ref.registry },
  );
}

function stripParams(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim() || undefined;
}

export async function manifestHead(
  http: RegistryHttp,
  ref: RegistryRef,
  signal?: AbortSignal,
  retry?: boolean,
): Promise<Descriptor | undefined> {
  const res = await http.send({
    host: ref.registry,
    method: 'HEAD',
    path: manifestPath(ref),
    headers: { accept: ACCEPT },
    scopes: [repositoryScope(ref.repository)],
    expect: [200, 404],
    what: `manifest ${formatReference(ref)}`,
    notFound: OciErrorCode.MANIFEST_UNKNOWN,
    signal,
    retry,
  });
  await dumpBody(res.body);
  if (res.statusCode === 404) return undefined;
  const digest = header(res.headers, 'docker-content-digest') ?? ref.digest;
  const mediaType = stripParams(header(res.headers, 'content-type'));
  const size = Number(header(res.headers, 'content-length'));
  if (!digest || !mediaType || !Number.isFinite(size)) {
    // some registries omit the digest on HEAD: GET tells us everything
    return (await manifestGet(http, ref, signal)).descriptor;
  }
  return { mediaType, digest, size };
}

export async function manifestGet(
  http: RegistryHttp,
  ref: RegistryRef,
  signal?: AbortSignal,
): Promise<ManifestBytes> {
  const what = `manifest ${formatReference(ref)}`;
  const res = await http.send({
    host: ref.registry,
    method: 'GET',
    path: manifestPath(ref),
    headers: { accept: ACCEPT },
    scopes: [repositoryScope(ref.repository)],
    expect: [200],
    what,
    notFound: OciErrorCode.MANIFEST_UNKNOWN,
    signal,
  });
  const length = header(res.headers, 'content-length');
  if (length !== undefined && Number(length) > MANIFEST_MAX_BYTES) {
    res.body.destroy();
    throw tooLarge(ref, `Content-Length ${length}`);
  }
  const bytes = await readBody(res.body, MANIFEST_MAX_BYTES, () => tooLarge(ref, 'while reading'));
  const digest = sha256Digest(bytes);
  const claimed = header(res.headers, 'docker-content-digest');
  for (const expected of [ref.digest, claimed]) {
    if (expected?.startsWith('sha256:') && expected !== digest) {
      throw new OciError(
        OciErrorCode.DIGEST_MISMATCH,
        `${what}: bytes hash to ${digest}, expected ${expected}`,
        {
          target: ref.registry,
        },
      );
    }
  }
  return parseManifest(bytes, stripParams(header(res.headers, 'content-type')), what);
}

/** Parses manifest bytes (kept verbatim) into ManifestBytes; the media type falls back to the JSON field. */
export function parseManifest(bytes: Buffer, contentType: string | undefined, what: string): ManifestBytes {
  let manifest: ImageManifest & { manifests?: Descriptor[] };
  try {
    manifest = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new OciError(OciErrorCode.MANIFEST_INVALID, `${what} is not valid JSON`, { cause: err });
  }
  if (!manifest || typeof manifest !== 'object' || manifest.schemaVersion !== 2) {
    throw new OciError(OciErrorCode.MANIFEST_INVALID, `${what} is not a schemaVersion 2 manifest`);
  }
  const isIndex = Array.isArray(manifest.manifests);
  if (!isIndex && (!manifest.config || !Array.isArray(manifest.layers))) {
    throw new OciError(OciErrorCode.MANIFEST_INVALID, `${what} has no config or layers`);
  }
  const mediaType =
    manifest.mediaType ??
    (contentType && contentType !== 'application/json' && contentType !== 'application/octet-stream'
      ? contentType
      : isIndex
        ? 'application/vnd.oci.image.index.v1+json'
        : 'application/vnd.oci.image.manifest.v1+json');
  const descriptor: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.length };
  if (manifest.artifactType) descriptor.artifactType = manifest.artifactType;
  return { descriptor, bytes, manifest };
}

export async function manifestPut(
  http: RegistryHttp,
  ref: RegistryRef,
  bytes: Buffer,
  mediaType: string,
  signal?: AbortSignal,
): Promise<string> {
  if (bytes.length > MANIFEST_MAX_BYTES) throw tooLarge(ref, bytes.length);
  const digest = sha256Digest(bytes);
  const what = `manifest ${formatReference(ref)}`;
  const res = await http.send({
    host: ref.registry,
    method: 'PUT',
    path: `/v2/${ref.repository}/manifests/${ref.tag ?? ref.digest ?? digest}`,
    headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
    body: () => bytes,
    scopes: [repositoryScope(ref.repository, true)],
    expect: [200, 201, 202],
    what,
    notFound: OciErrorCode.NAME_UNKNOWN,
    signal,
  });
  await dumpBody(res.body);
  const claimed = header(res.headers, 'docker-content-digest');
  if (claimed?.startsWith('sha256:') && claimed !== digest) {
    throw new OciError(
      OciErrorCode.DIGEST_MISMATCH,
      `${what}: registry stored ${claimed}, we sent ${digest}`,
      {
        target: ref.registry,
      },
    );
  }
  return digest;
}

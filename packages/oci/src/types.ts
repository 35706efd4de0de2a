// Shapes shared by the registry client, the layout store and copy. Field names follow the OCI specs.
import type { Readable } from 'node:stream';

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  TrivyConfig: 'application/vnd.aquasec.trivy.config.v1+json',
  OpaConfig: 'application/vnd.cncf.openpolicyagent.config.v1+json',
  TrivyDbLayer: 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip',
  TrivyJavaDbLayer: 'application/vnd.aquasec.trivy.javadb.layer.v1.tar+gzip',
  OpaLayer: 'application/vnd.cncf.openpolicyagent.layer.v1.tar+gzip',
} as const;

/** Every manifest type we ask for; distribution answers 404 for OCI manifests without it. */
export const MANIFEST_ACCEPT = [
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
] as const;

export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;

export const Annotation = {
  Title: 'org.opencontainers.image.title',
  Version: 'org.opencontainers.image.version',
  Created: 'org.opencontainers.image.created',
  RefName: 'org.opencontainers.image.ref.name',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** A manifest as fetched: the exact bytes (never re-serialised) plus the parsed view. */
export interface ManifestBytes {
  descriptor: Descriptor;
  bytes: Buffer;
  /** Parsed JSON of `bytes`. */
  manifest: ImageManifest;
}

/** Parsed reference. `kind: 'registry'` for HOST/REPO[:TAG][@DIGEST], `kind: 'layout'` for oci-layout:DIR[:TAG|@DIGEST]. */
export type Reference =
  | { kind: 'registry'; registry: string; repository: string; tag?: string; digest?: string }
  | { kind: 'layout'; path: string; tag?: string; digest?: string };

export interface ProgressEvent {
  /** Bytes moved so far for this blob. */
  bytes: number;
  total: number;
  digest: string;
}

export interface BlobGetOptions {
  signal?: AbortSignal;
  onProgress?: (p: ProgressEvent) => void;
}

export interface BlobPutOptions {
  signal?: AbortSignal;
  onProgress?: (p: ProgressEvent) => void;
  /** Repository on the same registry that already holds the blob: try a cross-repository mount first. */
  mountFrom?: string;
  /**
   * The stream `open` gives checks size and digest itself and fails before its last byte when they
   * are wrong (blobGet's streams do): a layout writes it without hashing it a second time.
   */
  sourceVerified?: boolean;
}

/** What blobPut did, when the transport tells (copy counts mounts with it). */
export interface BlobPutResult {
  /** True when a cross-repository mount made the upload unnecessary. */
  mounted: boolean;
}

/**
 * One interface for a registry over HTTP and an OCI layout on disk (regclient's idea): copy code is
 * written once against it. `ref` is always the artifact's reference; blob calls use its repository.
 */
export interface Transport {
  /**
   * `retry: false`: one attempt, no retries on 429/5xx/network errors (the caller has another
   * source to try; Retry-After is then the caller's to honour).
   */
  manifestHead(
    ref: Reference,
    options?: { signal?: AbortSignal; retry?: boolean },
  ): Promise<Descriptor | undefined>;
  manifestGet(ref: Reference, options?: { signal?: AbortSignal }): Promise<ManifestBytes>;
  /** Stores `bytes` verbatim under `ref`'s tag (or digest). Returns the manifest digest. */
  manifestPut(
    ref: Reference,
    bytes: Buffer,
    mediaType: string,
    options?: { signal?: AbortSignal },
  ): Promise<string>;
  blobHead(
    ref: Reference,
    digest: string,
    options?: { signal?: AbortSignal },
  ): Promise<Descriptor | undefined>;
  /** A stream that fails (emits an OciError) when size or digest do not match `descriptor`. */
  blobGet(ref: Reference, descriptor: Descriptor, options?: BlobGetOptions): Promise<Readable>;
  /** Uploads from `open()` (called again on retry); verifies the target accepted the digest. */
  blobPut(
    ref: Reference,
    descriptor: Descriptor,
    open: () => Readable | Promise<Readable>,
    options?: BlobPutOptions,
    // biome-ignore lint/suspicious/noConfusingVoidType: implementations that report nothing return Promise<void>
  ): Promise<void | BlobPutResult>;
  tagList(ref: Reference, options?: { signal?: AbortSignal }): Promise<string[]>;
}

/** Credentials for one registry host. `source` describes where they came from, never the secret. */
export interface RegistryCredential {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (docker config `identitytoken`), exchanged at the token endpoint. */
  identityToken?: string;
  /** A bearer token sent as is (TRIVY_REGISTRY_TOKEN style). */
  registryToken?: string;
  source: string;
}

/** Asked once per host (results cached by the client for a short time). */
export type CredentialResolver = (host: string) => Promise<RegistryCredential | undefined>;

export interface HostOptions {
  /** host[:port] as it appears in references. */
  host: string;
  /** Use http:// instead of https://. Loopback hosts are allowed plain http without this. */
  plainHttp?: boolean;
  /** PEM file with extra CA certificates for this host. */
  caFile?: string;
  /** Skip TLS verification (discouraged; logged). */
  insecureSkipVerify?: boolean;
  /** Concurrent requests to this host (default 6). */
  maxConcurrency?: number;
  /** Upload blobs in PATCH chunks instead of one monolithic PUT (some registries need it). */
  chunkedUpload?: boolean;
  /** Time to response headers and maximum body silence for this host, in seconds (a stalled peer fails after it). */
  timeoutSeconds?: number;
  /** Forward proxy for this host (overrides `proxy:` and HTTPS_PROXY), or 'none' to go direct. */
  proxy?: string;
}

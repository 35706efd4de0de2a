export * from './errors.js';
export * from './types.js';
export * from './reference.js';
export * from './digest.js';
export * from './www-authenticate.js';
export * from './retry.js';
export * from './mutex.js';
export * from './logger.js';
export { HttpTransport, DEFAULT_MAX_CONCURRENCY } from './http-transport.js';
export { AuthManager, repositoryScope } from './auth.js';
export { parseManifest } from './manifest.js';
export { appendDigest, DEFAULT_CHUNK_BYTES } from './blob-upload.js';
export { RegistryClient, nextLink, type RegistryClientOptions } from './registry-client.js';
export { type BlobWriteOptions, OciLayout, LAYOUT_VERSION_BYTES, type LayoutIndex } from './layout.js';
export { LayoutTransport } from './layout-transport.js';
export { artifactCopy, type ArtifactCopyOptions, type ArtifactCopyResult } from './copy.js';
export {
  createRegistryHandler,
  type RegistryHandler,
  type RegistryHandlerOptions,
} from './registry-handler.js';
export { Agent, Pool, undiciLean } from './undici-dispatchers.js';
export { type ByteRange, parseRange } from './http-range.js';
export { mkdirp } from './mkdirp.js';
export { fsyncPath, pidAlive, writeNewFileSynced } from './fs-durable.js';

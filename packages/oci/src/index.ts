// @trivy-mirror/oci: a small, spec-driven OCI distribution client and OCI image-layout store.
//
// The main entry is what a user of the client needs: references, the registry client, the transports
// (registry over HTTP, OCI layout on disk), the layout itself, copy and its plan, the errors, and the
// types these use. Everything else is internal. What other packages of this workspace share with the
// client has its own subpath entry (package.json `exports`), outside this API:
//   @trivy-mirror/oci/fs     fsyncDir, writeNewFile, writeFileAtomic, mkdirp, creatableDirProblem
//   @trivy-mirror/oci/mutex  withKeyLock, Mutex, mutexFor (in-process locks per key)
//   @trivy-mirror/oci/http   Agent, Pool, ProxyAgent (the undici dispatchers the client uses), readBody,
//                            originDispatcher, connection probes and error explanations
//   @trivy-mirror/oci/serve  createRegistryHandler (read-only registry over layouts), parseRange
// Signing (cosign-compatible, with a key) is part of the main entry: src/signing/.
export * from './errors.js';
export * from './types.js';
export * from './reference.js';
export * from './digest.js';
export type { OciLogger } from './logger.js';
export type { RetryOptions } from './retry.js';
export { RegistryClient, type RegistryClientOptions } from './registry/registry-client.js';
export { HttpTransport, DEFAULT_MAX_CONCURRENCY } from './connection/http-transport.js';
export {
  describeRoute,
  NoProxy,
  parseProxyUrl,
  proxyEnvironment,
  type ProxyRoute,
  ProxyRouter,
  type ProxySettings,
  redactProxyUrl,
} from './connection/proxy-config.js';
export { setSystemCaTrust, systemCaTrusted } from './connection/tls-trust.js';
export { LayoutTransport } from './layout/layout-transport.js';
export { LAYOUT_LOCK_FILE, withLayoutLock } from './layout/layout-lock.js';
export { type BlobWriteOptions, OciLayout, LAYOUT_VERSION_BYTES, type LayoutIndex } from './layout/layout.js';
export { QUARANTINE_DIR, QUARANTINE_KEEP, quarantineFile } from './layout/layout-quarantine.js';
export { type ScannedManifest, scanManifests } from './layout/layout-scan.js';
export { artifactCopy, type ArtifactCopyOptions, type ArtifactCopyResult } from './copy/copy.js';
export { type ArtifactCopyPlan, artifactCopyPlan } from './copy/copy-plan.js';
export * from './signing/index.js';

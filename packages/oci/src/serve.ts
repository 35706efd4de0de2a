// @trivy-mirror/oci/serve: serving the store: a read-only OCI distribution handler over layouts, and
// HTTP Range parsing for other file responses. Not part of the OCI client's API.
export {
  createRegistryHandler,
  type RegistryHandler,
  type RegistryHandlerOptions,
} from './serve/registry-handler.js';
export { type ByteRange, parseRange } from './serve/http-range.js';
/** An error answer a handler option may throw (status, distribution code, message). */
export { HttpFailure } from './serve/registry-failure.js';

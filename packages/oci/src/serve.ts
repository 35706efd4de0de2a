// @trivy-mirror/oci/serve: serving the store: a read-only OCI distribution handler over layouts, and
// HTTP Range parsing for other file responses. Not part of the OCI client's API.
export {
  createRegistryHandler,
  type RegistryHandler,
  type RegistryHandlerOptions,
} from './registry-handler.js';
export { type ByteRange, parseRange } from './http-range.js';
/** An error answer a handler option may throw (status, distribution code, message). */
export { HttpFailure } from './registry-failure.js';

// @trivy-mirror/oci/http: the undici dispatchers the client uses (one undici for the process, loaded
// lean), for other HTTP clients of the workspace. Not part of the OCI client's API.
export { Agent, Pool, undiciLean } from './undici-dispatchers.js';

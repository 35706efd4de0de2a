// @trivy-mirror/oci/http: the undici dispatchers the client uses (one undici for the process, loaded
// lean) and its capped body reader, for other HTTP clients of the workspace. Not part of the OCI client's API.
export { readBody } from './connection/http-transport.js';
export { Agent, Pool, ProxyAgent, undiciLean } from './connection/undici-dispatchers.js';
export { originDispatcher, tlsConnectOptions } from './connection/host-dispatcher.js';
export { explainConnectionError } from './connection/connection-errors.js';
export {
  openConnection,
  tlsHandshake,
  peerCertificate,
  ProxyConnectError,
} from './connection/connection-probe.js';
export type { PeerCertificateInfo } from './connection/connection-probe.js';

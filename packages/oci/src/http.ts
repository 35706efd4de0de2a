// @trivy-mirror/oci/http: the undici dispatchers the client uses (one undici for the process, loaded
// lean) and its capped body reader, for other HTTP clients of the workspace. Not part of the OCI client's API.
export { readBody } from './http-transport.js';
export { Agent, Pool, ProxyAgent, undiciLean } from './undici-dispatchers.js';
export { originDispatcher, tlsConnectOptions } from './host-dispatcher.js';
export { explainConnectionError } from './connection-errors.js';
export { openConnection, tlsHandshake, peerCertificate, ProxyConnectError } from './connection-probe.js';
export type { PeerCertificateInfo } from './connection-probe.js';

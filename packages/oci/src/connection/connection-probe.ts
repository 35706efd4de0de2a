// One connection to a host the way requests reach it (direct, or through the forward proxy with
// CONNECT), up to the TLS handshake, made with verification reported rather than enforced: so an error
// can name the certificate's issuer and the self-check can show each layer. Not on the request path.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { tlsConnectOptions } from './host-dispatcher.js';
import type { ProxyRoute } from './proxy-config.js';
import type { HostOptions } from '../types.js';
import { Client } from './undici-dispatchers.js';

export interface PeerCertificateInfo {
  subject: string;
  issuer: string;
  /** True when the chain verifies against the trust this host is configured with. */
  authorized: boolean;
  /** OpenSSL's reason when not authorized: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'… */
  authorizationError?: string;
  validTo?: string;
}

/** Thrown when the proxy answers CONNECT with something else than 200. */
export class ProxyConnectError extends Error {
  constructor(
    readonly status: number,
    target: string,
  ) {
    super(`proxy answered ${status} to CONNECT ${target}`);
  }
}

function portOf(url: URL): number {
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}

function hostnameOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/** `CN=Test CA, O=Acme` from node's certificate name object. */
export function formatCertName(name: PeerCertificate['issuer'] | undefined): string {
  if (!name) return '(none)';
  const order = ['CN', 'O', 'OU', 'L', 'ST', 'C'];
  const parts: string[] = [];
  for (const k of order) {
    const v = (name as unknown as Record<string, string | string[] | undefined>)[k];
    if (v !== undefined) parts.push(`${k}=${Array.isArray(v) ? v.join('+') : v}`);
  }
  return parts.join(', ') || '(empty)';
}

/** A TCP connection to the target, or a CONNECT tunnel through the route's proxy. */
export async function openConnection(
  url: URL,
  route: ProxyRoute,
  timeoutMs: number,
): Promise<{ socket: Duplex; proxyStatus?: number }> {
  const target = `${url.hostname}:${portOf(url)}`;
  const signal = AbortSignal.timeout(timeoutMs);
  if (!route.proxy) {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host: hostnameOf(url), port: portOf(url), signal });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    return { socket };
  }
  const proxy = route.proxy;
  const client = new Client(proxy.origin, { connect: tlsConnectOptions() });
  const headers: Record<string, string> = { host: target };
  if (proxy.username) {
    const user = decodeURIComponent(proxy.username);
    const pass = decodeURIComponent(proxy.password);
    headers['proxy-authorization'] = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  try {
    const { statusCode, socket } = await client.connect({ path: target, headers, signal });
    if (statusCode !== 200) {
      socket.destroy();
      throw new ProxyConnectError(statusCode, target);
    }
    return { socket, proxyStatus: statusCode };
  } finally {
    // the tunnel's socket is detached from the client: closing the client leaves it open
    void client.destroy().catch(() => undefined);
  }
}

/** TLS over an open connection with the host's trust; reports verification instead of failing on it. */
export async function tlsHandshake(
  socket: Duplex,
  url: URL,
  host: HostOptions | undefined,
  timeoutMs: number,
): Promise<PeerCertificateInfo> {
  const name = hostnameOf(url);
  const tlsSocket = await new Promise<TLSSocket>((resolve, reject) => {
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`TLS handshake with ${url.host} timed out`));
    }, timeoutMs);
    const s = tlsConnect({
      ...tlsConnectOptions(host),
      socket,
      servername: isIP(name) ? undefined : name,
      rejectUnauthorized: false,
    });
    s.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  const cert = tlsSocket.getPeerCertificate();
  tlsSocket.destroy();
  return {
    subject: formatCertName(cert.subject),
    issuer: formatCertName(cert.issuer),
    authorized: tlsSocket.authorized,
    authorizationError: tlsSocket.authorizationError ? String(tlsSocket.authorizationError) : undefined,
    validTo: cert.valid_to,
  };
}

/** The certificate an https URL presents along its route, or undefined when that cannot be had. */
export async function peerCertificate(
  url: URL,
  route: ProxyRoute,
  host: HostOptions | undefined,
  timeoutMs = 5000,
): Promise<PeerCertificateInfo | undefined> {
  try {
    const { socket } = await openConnection(url, route, timeoutMs);
    return await tlsHandshake(socket, url, host, timeoutMs);
  } catch {
    return undefined;
  }
}

// The undici dispatcher for one origin, made once per origin (never per request): a keep-alive Pool
// when the route is direct, undici's ProxyAgent when a forward proxy carries it (CONNECT for https,
// absolute URIs for http, credentials from the proxy URL). TLS settings are the same either way.
import { readFileSync } from 'node:fs';
import type { Dispatcher } from 'undici';
import type { ProxyRoute } from './proxy-config.js';
import { ensureTrust, secureContextWith } from './tls-trust.js';
import type { HostOptions } from '../types.js';
import { Agent, Pool, ProxyAgent } from './undici-dispatchers.js';

export interface OriginDispatcherOptions {
  host?: HostOptions;
  route: ProxyRoute;
  connections: number;
  keepAliveTimeout?: number;
  headersTimeout?: number;
  bodyTimeout?: number;
}

/** node:tls options for a host: the process's trusted CAs, plus its caFile, or no verification. */
export function tlsConnectOptions(host?: HostOptions): Record<string, unknown> {
  ensureTrust();
  const out: Record<string, unknown> = {};
  if (host?.caFile) out.secureContext = secureContextWith(readFileSync(host.caFile, 'utf8'));
  if (host?.insecureSkipVerify) out.rejectUnauthorized = false;
  return out;
}

/**
 * A dispatcher for requests to `origin`. `shape: 'pool'` (one origin, request options need no origin)
 * or 'agent' (requests name their origin). A proxied route is always an Agent: pass `origin` then.
 */
export function originDispatcher(
  origin: string,
  o: OriginDispatcherOptions,
  shape: 'pool' | 'agent',
): Dispatcher {
  const connect = tlsConnectOptions(o.host);
  const common = {
    connections: o.connections,
    keepAliveTimeout: o.keepAliveTimeout ?? 30_000,
    ...(o.headersTimeout !== undefined ? { headersTimeout: o.headersTimeout } : {}),
    ...(o.bodyTimeout !== undefined ? { bodyTimeout: o.bodyTimeout } : {}),
  };
  if (o.route.proxy) {
    return new ProxyAgent({ uri: o.route.proxy.href, ...common, requestTls: connect });
  }
  return shape === 'pool' ? new Pool(origin, { ...common, connect }) : new Agent({ ...common, connect });
}

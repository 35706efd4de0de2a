// Which way each configured host's requests go — direct or through which forward proxy — and why, for
// /status (`network.hosts`), the status page and `trivy-mirror status`. Proxy credentials never show:
// the URL is redacted as Go prints it (`http://user:xxxxx@proxy:3128`).
import { describeRoute, type ProxyRoute, redactProxyUrl } from '@trivy-mirror/oci';
import type { ProbeTarget } from './network-probe.js';

export interface HostRoute {
  /** 'source', 'destination', 'vex'. */
  role: string;
  /** A registry host[:port] or a VEX repository URL. */
  target: string;
  /** 'direct' or the proxy URL, redacted. */
  via: string;
  /** What decided it: 'HTTPS_PROXY', 'proxy.url', 'NO_PROXY', 'loopback', 'none'... */
  source: string;
  /** The decision in words. */
  why: string;
  /** One line: 'direct (NO_PROXY)', 'http://proxy:3128 (HTTPS_PROXY)' (as the self-check prints it). */
  route: string;
}

const REASONS: Record<string, string> = {
  HTTPS_PROXY: 'environment variable HTTPS_PROXY (or https_proxy)',
  HTTP_PROXY: 'environment variable HTTP_PROXY (or http_proxy)',
  'proxy.url': 'config proxy.url',
  'registries[].proxy': 'config registries[].proxy for this host',
  'registries[].proxy: none': 'config registries[].proxy: none for this host',
  'proxy: none': 'config proxy: none',
  NO_PROXY: 'environment variable NO_PROXY matches this host',
  'proxy.noProxy': 'config proxy.noProxy matches this host',
  loopback: 'loopback is never proxied',
  none: 'no proxy configured (proxy:, HTTPS_PROXY, HTTP_PROXY unset)',
};

/** The decision of a ProxyRoute in words. */
export function routeReason(route: ProxyRoute): string {
  return REASONS[route.source] ?? route.source;
}

export function hostRoute(target: ProbeTarget, route: ProxyRoute): HostRoute {
  return {
    role: target.role,
    target: target.registry ? target.url.host : target.url.href,
    via: route.proxy ? redactProxyUrl(route.proxy) : 'direct',
    source: route.source,
    why: routeReason(route),
    route: describeRoute(route),
  };
}

/** Each target's route, in the order given. */
export function hostRoutes(targets: readonly ProbeTarget[], route: (url: URL) => ProxyRoute): HostRoute[] {
  return targets.map((t) => hostRoute(t, route(t.url)));
}

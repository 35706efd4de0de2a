// Which forward proxy a request goes through, decided the way Go's http.ProxyFromEnvironment does
// (golang.org/x/net/http/httpproxy), because Trivy, skopeo, crane and oras do it that way: HTTPS_PROXY
// for https targets, HTTP_PROXY for http ones (upper case first, then lower case), NO_PROXY with hosts,
// domain suffixes, ports, IPs, CIDRs and `*`, and loopback never proxied. The `proxy:` config section
// and `registries[].proxy` override it. Pure: no I/O.
import { BlockList, isIP } from 'node:net';

/** The `proxy:` config section. */
export interface ProxySettings {
  /** Proxy for http and https targets (overrides HTTP_PROXY/HTTPS_PROXY); 'none' = always direct. */
  url?: string;
  /** NO_PROXY entries (overrides NO_PROXY): hosts, .domain suffixes, host:port, IPs, CIDRs, `*`. */
  noProxy?: string | string[];
}

/** Where a request goes: direct, or through `proxy`, and why (for /status and the self-check). */
export interface ProxyRoute {
  proxy?: URL;
  /** 'HTTPS_PROXY', 'proxy.url', 'registries[].proxy', 'NO_PROXY', 'loopback', 'proxy: none', 'none'... */
  source: string;
}

export interface ProxyEnvironment {
  httpProxy?: string;
  httpsProxy?: string;
  noProxy?: string;
}

function envAny(env: NodeJS.ProcessEnv, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = env[n];
    if (v) return v;
  }
  return undefined;
}

/** HTTP_PROXY, HTTPS_PROXY and NO_PROXY as Go reads them (upper case wins over lower case). */
export function proxyEnvironment(env: NodeJS.ProcessEnv = process.env): ProxyEnvironment {
  return {
    httpProxy: envAny(env, 'HTTP_PROXY', 'http_proxy'),
    httpsProxy: envAny(env, 'HTTPS_PROXY', 'https_proxy'),
    noProxy: envAny(env, 'NO_PROXY', 'no_proxy'),
  };
}

/** A proxy URL as Go parses it: no scheme means http://. Throws with the value redacted. */
export function parseProxyUrl(value: string): URL {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`invalid proxy URL ${redactText(text)}`);
  }
  if (!['http:', 'https:', 'socks5:', 'socks:'].includes(url.protocol) || !url.hostname) {
    throw new Error(
      `invalid proxy URL ${redactProxyUrl(url)}: expected http://, https:// or socks5://HOST:PORT`,
    );
  }
  return url;
}

/** The proxy URL with its password replaced, as Go's url.Redacted() prints it. */
export function redactProxyUrl(url: URL): string {
  if (!url.password) return url.href.replace(/\/$/, '');
  const copy = new URL(url.href);
  copy.password = 'xxxxx';
  return copy.href.replace(/\/$/, '');
}

function redactText(text: string): string {
  return text.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:xxxxx@');
}

/** True for localhost and loopback addresses, which Go never sends through a proxy. */
export function isLoopbackName(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

interface DomainMatch {
  suffix: string;
  port: string;
  matchHost: boolean;
}

/** A parsed NO_PROXY list. */
export class NoProxy {
  readonly all: boolean;
  private readonly ips = new BlockList();
  private readonly ipPorts: { ip: string; port: string }[] = [];
  private readonly domains: DomainMatch[] = [];

  constructor(list: string | readonly string[] | undefined) {
    const entries = (typeof list === 'string' ? list.split(',') : (list ?? [])).flatMap((e) => e.split(','));
    let all = false;
    for (const raw of entries) {
      const p = raw.trim().toLowerCase();
      if (!p) continue;
      if (p === '*') {
        all = true;
        break;
      }
      const cidr = p.match(/^([0-9a-f.:]+)\/(\d{1,3})$/);
      if (cidr && isIP(cidr[1]!)) {
        this.ips.addSubnet(cidr[1]!, Number(cidr[2]), isIP(cidr[1]!) === 6 ? 'ipv6' : 'ipv4');
        continue;
      }
      let host = p;
      let port = '';
      const hp = p.match(/^\[([^\]]+)\](?::(\d+))?$/) ?? p.match(/^([^:]+):(\d+)$/);
      if (hp) {
        host = hp[1]!;
        port = hp[2] ?? '';
      }
      if (isIP(host)) {
        this.ipPorts.push({ ip: host, port });
        continue;
      }
      if (host.startsWith('*.')) host = host.slice(1);
      const matchHost = !host.startsWith('.');
      if (matchHost) host = `.${host}`;
      // Go drops a trailing dot of a fully qualified name
      if (host.endsWith('.') && host.length > 1) host = host.slice(0, -1);
      this.domains.push({ suffix: host, port, matchHost });
    }
    this.all = all;
  }

  /** True when a request to hostname:port must go direct. */
  matches(hostname: string, port: string): boolean {
    if (this.all) return true;
    const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const family = isIP(h);
    if (family) {
      if (this.ips.check(h, family === 6 ? 'ipv6' : 'ipv4')) return true;
      for (const m of this.ipPorts) if (m.ip === h && (!m.port || m.port === port)) return true;
    }
    for (const m of this.domains) {
      if (h.endsWith(m.suffix) || (m.matchHost && h === m.suffix.slice(1))) {
        if (!m.port || m.port === port) return true;
      }
    }
    return false;
  }
}

export interface ProxyRouterOptions {
  settings?: ProxySettings | 'none';
  env?: NodeJS.ProcessEnv;
  /** `registries[].proxy` by host (host[:port] or hostname): a URL or 'none'. */
  hosts?: readonly { host: string; proxy?: string }[];
}

/** Decides the route of every request; parsed once, asked per origin when its dispatcher is made. */
export class ProxyRouter {
  private readonly http?: { url: URL; source: string };
  private readonly https?: { url: URL; source: string };
  private readonly noProxy: NoProxy;
  private readonly noProxySource: string;
  /** `proxy: none` (or `url: none`): direct whatever the environment says. */
  private readonly off: boolean;
  private readonly perHost = new Map<string, URL | 'none'>();

  constructor(options: ProxyRouterOptions = {}) {
    const env = proxyEnvironment(options.env ?? process.env);
    const settings = options.settings === 'none' ? { url: 'none' } : (options.settings ?? {});
    this.off = settings.url === 'none';
    if (settings.url === 'none') {
      // explicit: no proxy at all, whatever the environment says
    } else if (settings.url) {
      const url = parseProxyUrl(settings.url);
      this.http = { url, source: 'proxy.url' };
      this.https = { url, source: 'proxy.url' };
    } else {
      if (env.httpProxy) this.http = { url: parseProxyUrl(env.httpProxy), source: 'HTTP_PROXY' };
      if (env.httpsProxy) this.https = { url: parseProxyUrl(env.httpsProxy), source: 'HTTPS_PROXY' };
    }
    const noProxy = settings.noProxy ?? env.noProxy;
    this.noProxy = new NoProxy(noProxy);
    this.noProxySource = settings.noProxy !== undefined ? 'proxy.noProxy' : 'NO_PROXY';
    for (const h of options.hosts ?? []) {
      if (h.proxy === undefined) continue;
      this.perHost.set(h.host.toLowerCase(), h.proxy === 'none' ? 'none' : parseProxyUrl(h.proxy));
    }
  }

  /** True when no request is ever proxied (the hot path then skips the proxy machinery). */
  get direct(): boolean {
    return !this.http && !this.https && [...this.perHost.values()].every((v) => v === 'none');
  }

  route(url: URL): ProxyRoute {
    const host = this.perHost.get(url.host.toLowerCase()) ?? this.perHost.get(url.hostname.toLowerCase());
    if (host === 'none') return { source: 'registries[].proxy: none' };
    if (host) return { proxy: host, source: 'registries[].proxy' };
    const chosen = url.protocol === 'https:' ? this.https : url.protocol === 'http:' ? this.http : undefined;
    if (!chosen) return { source: this.off ? 'proxy: none' : 'none' };
    if (isLoopbackName(url.hostname)) return { source: 'loopback' };
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    if (this.noProxy.matches(url.hostname, port)) return { source: this.noProxySource };
    return { proxy: chosen.url, source: chosen.source };
  }
}

/** One line for logs and /status: 'direct (NO_PROXY)' or 'http://proxy:3128 (HTTPS_PROXY)'. */
export function describeRoute(route: ProxyRoute): string {
  if (!route.proxy) return route.source === 'none' ? 'direct' : `direct (${route.source})`;
  return `${redactProxyUrl(route.proxy)} (${route.source})`;
}

// The network self-check (`config check --online`, the status page's probe): for each configured host,
// each layer a request crosses — DNS, TCP, the forward proxy, TLS (and who issued the certificate), the
// registry's /v2/ and token auth, or the VEX source's answer — through the configured proxy and trust,
// so an operator behind a corporate edge sees which layer fails instead of one opaque error.
import { lookup } from 'node:dns/promises';
import { connect as netConnect } from 'node:net';
import type { HttpClient } from '@trivy-mirror/plugin-api';
import { describeRoute, type HostOptions, type ProxyRoute, redactProxyUrl } from '@trivy-mirror/oci';
import { openConnection, tlsHandshake } from '@trivy-mirror/oci/http';

export type ProbeLayer = 'dns' | 'tcp' | 'proxy' | 'tls' | 'v2' | 'auth' | 'http';

export interface LayerResult {
  layer: ProbeLayer;
  ok: boolean;
  detail: string;
}

export interface ProbeTarget {
  /** 'source', 'destination', 'vex'. */
  role: string;
  /** A registry host (host[:port]) or a VEX repository URL. */
  url: URL;
  registry: boolean;
}

export interface HostProbe {
  role: string;
  target: string;
  route: string;
  layers: LayerResult[];
  /** The first layer that failed. */
  failed?: LayerResult;
  /** Rate-limit headers of the registry's answer, when it sent any. */
  rateLimit?: string;
}

/** What the probe needs of the registry client (RegistryClient has it). */
export interface ProbeRegistry {
  route(host: string): ProxyRoute;
  v2Probe(
    host: string,
    options?: { signal?: AbortSignal },
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; url: string }>;
  ping(host: string, options?: { signal?: AbortSignal }): Promise<void>;
}

export interface ProbeOptions {
  registry: ProbeRegistry;
  http: Pick<HttpClient, 'request'>;
  /** `registries:` (caFile, insecureSkipVerify). */
  hosts: readonly HostOptions[];
  /** Whether a URL is proxied (the registry client's router covers http and https URLs alike). */
  route(url: URL): ProxyRoute;
  timeoutMs?: number;
}

const RATE_HEADERS = ['ratelimit-limit', 'ratelimit-remaining', 'x-ratelimit-limit', 'x-ratelimit-remaining'];

function message(err: unknown): string {
  const e = err as { message?: string; code?: string } | undefined;
  return e?.message ?? String(err);
}

function tcp(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host, port, signal: AbortSignal.timeout(timeoutMs) });
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

/** Probes one host layer by layer; stops at the first layer that fails. */
export async function probeHost(target: ProbeTarget, o: ProbeOptions): Promise<HostProbe> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const url = target.url;
  const route = target.registry ? o.registry.route(url.host) : o.route(url);
  const host = o.hosts.find((h) => h.host.toLowerCase() === url.host.toLowerCase());
  const layers: LayerResult[] = [];
  const out: HostProbe = {
    role: target.role,
    target: target.registry ? url.host : url.href,
    route: describeRoute(route),
    layers,
  };
  const step = async (layer: ProbeLayer, run: () => Promise<string>): Promise<boolean> => {
    try {
      layers.push({ layer, ok: true, detail: await run() });
      return true;
    } catch (err) {
      const r = { layer, ok: false, detail: message(err) };
      layers.push(r);
      out.failed = r;
      return false;
    }
  };
  const proxy = route.proxy;
  const first = proxy ?? url;
  const firstPort = Number(first.port || (first.protocol === 'https:' ? 443 : 80));
  const firstName = first.hostname.replace(/^\[|\]$/g, '');
  const who = proxy ? `proxy ${redactProxyUrl(proxy)}` : url.host;
  let address = '';
  const dnsOk = await step('dns', async () => {
    try {
      address = (await lookup(firstName)).address;
    } catch (err) {
      throw new Error(
        `cannot resolve ${proxy ? 'the proxy ' : ''}${firstName}: ${(err as { code?: string }).code ?? message(err)}`,
      );
    }
    return proxy
      ? `${firstName} → ${address}; ${url.hostname} is resolved by the proxy`
      : `${firstName} → ${address}`;
  });
  if (!dnsOk) return out;
  if (
    !(await step('tcp', async () => {
      try {
        await tcp(address, firstPort, timeoutMs);
      } catch (err) {
        throw new Error(
          `cannot connect to ${who} (${address}:${firstPort}): ${(err as { code?: string }).code ?? message(err)}`,
        );
      }
      return `${address}:${firstPort} accepts`;
    }))
  )
    return out;
  let socket: Awaited<ReturnType<typeof openConnection>>['socket'] | undefined;
  if (url.protocol === 'https:') {
    if (
      !(await step('proxy', async () => {
        try {
          socket = (await openConnection(url, route, timeoutMs)).socket;
        } catch (err) {
          const status = (err as { status?: number }).status;
          if (status === 407)
            throw new Error(`${who} wants credentials or refused them (407): put them in the proxy URL`);
          throw new Error(proxy ? `${who}: ${message(err)}` : message(err));
        }
        return proxy ? `CONNECT ${url.hostname}:${url.port || 443} → 200` : 'direct';
      }))
    )
      return out;
    const open = socket;
    if (
      !(await step('tls', async () => {
        const peer = await tlsHandshake(open!, url, host, timeoutMs);
        if (!peer.authorized && !host?.insecureSkipVerify) {
          throw new Error(
            `certificate for ${peer.subject} issued by ${peer.issuer} is not trusted (${peer.authorizationError}): add its CA to the system store (SSL_CERT_FILE/SSL_CERT_DIR, update-ca-certificates) or set registries[].caFile for ${url.host}`,
          );
        }
        return `issuer ${peer.issuer}${peer.authorized ? '' : ' (not verified: insecureSkipVerify)'}`;
      }))
    )
      return out;
  } else {
    layers.push({
      layer: 'proxy',
      ok: true,
      detail: proxy ? 'plain http: absolute URIs to the proxy' : 'direct',
    });
  }
  if (target.registry) {
    let challenge = '';
    if (
      !(await step('v2', async () => {
        const res = await o.registry.v2Probe(url.host, { signal: AbortSignal.timeout(timeoutMs) });
        const limits = RATE_HEADERS.filter((h) => res.headers[h] !== undefined).map(
          (h) => `${h}=${res.headers[h]}`,
        );
        if (limits.length > 0) out.rateLimit = limits.join(' ');
        if (res.status !== 200 && res.status !== 401)
          throw new Error(`GET ${res.url} answered ${res.status}`);
        const auth = res.headers['www-authenticate'];
        challenge =
          res.status === 401 ? String(Array.isArray(auth) ? auth[0] : (auth ?? '')).split(' ')[0]! : '';
        return `${res.status}${challenge ? ` (${challenge})` : ''}`;
      }))
    )
      return out;
    await step('auth', async () => {
      await o.registry.ping(url.host, { signal: AbortSignal.timeout(timeoutMs) });
      // not "Basic accepted": the status page's credential scrubber reads that as a Basic credential
      return challenge ? `credentials accepted (${challenge})` : 'no auth required';
    });
    return out;
  }
  await step('http', async () => {
    const res = await o.http.request(url.href, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
    await res.dump();
    // the host answered through every layer; a 5xx means it is not serving
    if (res.status >= 500) throw new Error(`GET ${url.href} answered ${res.status}`);
    return `GET answered ${res.status}`;
  });
  return out;
}

/** Every target, in parallel; the order of the answer is the order of `targets`. */
export function probeNetwork(targets: readonly ProbeTarget[], o: ProbeOptions): Promise<HostProbe[]> {
  return Promise.all(targets.map((t) => probeHost(t, o)));
}

/** One line per host: role, target, route, each layer's verdict. */
export function formatHostProbe(p: HostProbe): string {
  const layers = p.layers.map(
    (l) => `${l.layer} ${l.ok ? 'ok' : 'FAILED'}${l.ok ? ` (${l.detail})` : `: ${l.detail}`}`,
  );
  const rate = p.rateLimit ? `; rate limit ${p.rateLimit}` : '';
  return `${p.failed ? '✗' : '✓'} ${p.role} ${p.target} via ${p.route}: ${layers.join('; ')}${rate}`;
}

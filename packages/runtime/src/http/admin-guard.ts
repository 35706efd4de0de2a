// Keeps browsers from driving the admin listener. A web page may send it requests (a cross-site form,
// a no-cors fetch) and, with DNS rebinding, read the answers under its own name. So:
// - the Host header must name the listen address, a loopback name or address, or `admin.allowedHosts`
//   (421 otherwise): a rebinding page's requests carry its own host name;
// - a state-changing request must come from this origin (Origin equal to Host, Sec-Fetch-Site
//   same-origin) or carry what no simple cross-site request can: a JSON body or `X-Trivy-Mirror`.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { isLoopbackHost } from './listen-address.js';

/** The header a script or tool adds to a POST; a browser sends it cross-site only after a preflight. */
export const ADMIN_REQUEST_HEADER = 'x-trivy-mirror';

export interface AdminGuardOptions {
  /** Hosts of the listen address and of the bound address. */
  listenHosts: readonly string[];
  /** Further names the operator reaches the listener by (`admin.allowedHosts`). */
  allowedHosts?: readonly string[];
}

export type AdminVerdict =
  | { ok: true }
  | { ok: false; status: 421 | 403; body: { error: string; hint: string; host?: string } };

const WILDCARDS = new Set(['', '0.0.0.0', '::', '0:0:0:0:0:0:0:0']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** 'Example.org:9180' -> 'example.org', '[::1]:9180' -> '::1'; undefined when it is no host. */
export function hostName(hostHeader: string): string | undefined {
  const h = hostHeader.trim().toLowerCase();
  const bracket = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h);
  if (bracket) return isIP(bracket[1]!) === 6 ? bracket[1] : undefined;
  const m = /^([a-z0-9._-]+)(?::\d{1,5})?$/.exec(h);
  return m ? m[1]!.replace(/\.$/, '') : undefined;
}

function bare(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
}

export function hostAllowed(hostHeader: string, options: AdminGuardOptions): boolean {
  const name = hostName(hostHeader);
  if (name === undefined) return false;
  if (isLoopbackHost(name)) return true;
  const listen = options.listenHosts.map(bare);
  if (listen.includes(name)) return true;
  // Listening on every interface: any address of this host is the listen address. An IP literal is
  // never a rebinding: the page's origin is then that address itself.
  if (isIP(name) !== 0 && listen.some((h) => WILDCARDS.has(h))) return true;
  return (options.allowedHosts ?? []).some((h) => bare(h) === name);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function isJson(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** Origin equal to the request's own scheme and Host: a page this listener served. */
function sameOrigin(origin: string, host: string): boolean {
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' && u.host === new URL(`http://${host}`).host;
  } catch {
    return false;
  }
}

export function checkAdminRequest(req: IncomingMessage, options: AdminGuardOptions): AdminVerdict {
  // HTTP/1.0 without Host: no browser sends that.
  const host = header(req, 'host');
  if (host !== undefined && !hostAllowed(host, options))
    return {
      ok: false,
      status: 421,
      body: {
        error: 'misdirected request: the Host header names no address of this admin listener',
        host: host.slice(0, 256),
        hint: 'use the listen address or localhost, or add the name to admin.allowedHosts',
      },
    };
  if (SAFE_METHODS.has(req.method ?? 'GET')) return { ok: true };
  const refuse = (error: string): AdminVerdict => ({
    ok: false,
    status: 403,
    body: {
      error,
      hint: `send a JSON body (content-type: application/json) or the header ${ADMIN_REQUEST_HEADER}: 1`,
    },
  });
  const site = header(req, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return refuse(`cross-site request refused (Sec-Fetch-Site: ${site.slice(0, 32)})`);
  const origin = header(req, 'origin');
  if (origin !== undefined) {
    if (host === undefined || !sameOrigin(origin, host)) return refuse('cross-origin request refused');
    return { ok: true };
  }
  if (isJson(header(req, 'content-type')) || header(req, ADMIN_REQUEST_HEADER) !== undefined)
    return { ok: true };
  return refuse('a state-changing request needs a JSON body or a non-simple header');
}

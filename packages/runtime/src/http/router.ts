// Path routing for both listeners: longest matching prefix first; a route returning false falls through
// to the next matching one, then to a JSON 404.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpRoute } from '@trivy-mirror/plugin-api';

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

export interface RouteEntry {
  id: string;
  prefix: string;
  /** Exact path match instead of prefix. */
  exact?: boolean;
  handle: Handler;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}

export function sendNotFound(res: ServerResponse, url: URL): void {
  sendJson(res, 404, { error: 'not found', path: url.pathname });
}

/** Matching routes, most specific first. */
export function matchRoutes(routes: readonly RouteEntry[], pathname: string): RouteEntry[] {
  return routes
    .filter((r) => (r.exact ? pathname === r.prefix : pathname.startsWith(r.prefix)))
    .sort((a, b) => Number(b.exact ?? false) - Number(a.exact ?? false) || b.prefix.length - a.prefix.length);
}

/** Runs the matching routes in order; returns false when none handled the request. */
export async function dispatch(
  routes: readonly RouteEntry[],
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  for (const route of matchRoutes(routes, url.pathname)) {
    if (await route.handle(req, res, url)) return true;
    if (res.headersSent || res.writableEnded) return true;
  }
  return false;
}

export function fromContributions(routes: readonly HttpRoute[], listener: 'serve' | 'admin'): RouteEntry[] {
  return routes
    .filter((r) => r.listener === listener)
    .map((r) => ({ id: r.id, prefix: r.prefix, handle: (req, res, url) => r.handle(req, res, url) }));
}

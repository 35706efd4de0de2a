// The admin listener (default 127.0.0.1:9180): /healthz, /readyz, /status, /metrics, GET /jobs,
// POST /jobs/NAME/run, plus HttpRoute contributions with `listener: 'admin'`. Every request passes the
// guard against web pages first (admin-guard.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@trivy-mirror/plugin-api';
import { checkAdminRequest } from './admin-guard.js';
import type { Readiness } from '../status/health-registry.js';
import { HttpListener } from './http-listener.js';
import type { RunHandle } from '../jobs/job-runner.js';
import { parseListen } from './listen-address.js';
import { dispatch, type RouteEntry, sendJson } from './router.js';
import type { JobStatus, StatusReport } from '../status/status-report.js';

/** What the admin listener reads; the runtime implements it and swaps its internals on reload. */
export interface AdminState {
  readiness(): Promise<Readiness>;
  status(): Promise<StatusReport>;
  metricsText(): Promise<{ contentType: string; text: string }>;
  jobStatuses(): JobStatus[];
  hasJob(id: string): boolean;
  startJob(id: string, reason: string): RunHandle;
  routes(): RouteEntry[];
}

function builtinRoutes(state: AdminState): RouteEntry[] {
  const getOnly =
    (handle: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void) =>
    async (req: IncomingMessage, res: ServerResponse, url: URL) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
        return true;
      }
      await handle(req, res, url);
      return true;
    };
  return [
    // Liveness: no checks, no I/O, answers as soon as the listener is up.
    {
      id: 'healthz',
      prefix: '/healthz',
      exact: true,
      handle: getOnly((_req, res) => sendJson(res, 200, { status: 'ok' })),
    },
    {
      id: 'readyz',
      prefix: '/readyz',
      exact: true,
      handle: getOnly(async (_req, res) => {
        const r = await state.readiness();
        sendJson(res, r.ready ? 200 : 503, {
          status: r.ready ? 'ready' : 'not ready',
          phase: r.phase,
          reasons: r.reasons,
        });
      }),
    },
    {
      id: 'status',
      prefix: '/status',
      exact: true,
      handle: getOnly(async (_req, res) => sendJson(res, 200, await state.status())),
    },
    {
      id: 'metrics',
      prefix: '/metrics',
      exact: true,
      handle: getOnly(async (req, res) => {
        const { contentType, text } = await state.metricsText();
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      }),
    },
    {
      id: 'jobs',
      prefix: '/jobs',
      exact: true,
      handle: getOnly((_req, res) => sendJson(res, 200, { jobs: state.jobStatuses() })),
    },
    {
      id: 'job-run',
      prefix: '/jobs/',
      handle: async (req, res, url) => {
        const m = /^\/jobs\/([^/]+)\/run$/.exec(url.pathname);
        if (!m) return false;
        if (req.method !== 'POST') {
          sendJson(res, 405, { error: 'method not allowed' }, { allow: 'POST' });
          return true;
        }
        req.resume();
        const id = decodeURIComponent(m[1]);
        if (!state.hasJob(id)) {
          sendJson(res, 404, { error: 'unknown job', job: id });
          return true;
        }
        // A trigger while the job runs joins that run (no second run, no 409).
        const handle = state.startJob(id, 'admin');
        sendJson(res, 202, { job: id, runId: handle.runId, joined: handle.joined }, { location: '/jobs' });
        return true;
      },
    },
  ];
}

export function createAdminListener(options: {
  listen: string;
  logger: Logger;
  state: AdminState;
  /** `admin.allowedHosts`: names besides the listen address and localhost (a function: read per request, so a reload applies). */
  allowedHosts?: readonly string[] | (() => readonly string[] | undefined);
}): HttpListener {
  const builtin = builtinRoutes(options.state);
  const listenHost = parseListen(options.listen).host;
  const listener: HttpListener = new HttpListener({
    name: 'admin',
    listen: options.listen,
    logger: options.logger,
    handler: async (req, res, url) => {
      const bound = listener.address()?.host;
      const verdict = checkAdminRequest(req, {
        listenHosts: bound ? [listenHost, bound] : [listenHost],
        allowedHosts:
          typeof options.allowedHosts === 'function' ? options.allowedHosts() : options.allowedHosts,
      });
      if (!verdict.ok) {
        req.resume();
        sendJson(res, verdict.status, verdict.body);
        return true;
      }
      return dispatch([...builtin, ...options.state.routes()], req, res, url);
    },
  });
  return listener;
}

// Test harness: a loopback upstream that plays GitHub and a spec repository, a fetch-based HttpClient,
// an Inversify container with the plugin loaded, and a node:http server that dispatches to its HttpRoutes.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  type EventBus,
  HttpClient,
  type HttpResponse,
  HttpRoute,
  Job,
  type JobOutcome,
  type Logger,
  type MirrorEventName,
  type MirrorEvents,
  Metrics,
  type PluginContext,
  RuntimeSettings,
  EventBus as EventBusToken,
  HealthCheck,
  ClientConfigContribution,
} from '@trivy-mirror/plugin-api';
import { Container } from 'inversify';
import pino from 'pino';
import { Registry } from 'prom-client';
import plugin from '../src/index.js';

// The real VEX Hub snapshot the repository ships (tools/fixtures/vexhub).
export const FIXTURES = fileURLToPath(new URL('../../../tools/fixtures/vexhub/', import.meta.url));

export async function fixture(
  name: 'vexhub-main.zip' | 'vexhub-main.tar.gz' | 'vex-repository.json',
): Promise<Buffer> {
  return readFile(path.join(FIXTURES, name));
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

interface UpstreamFile {
  body: Buffer;
  contentType: string;
  etag?: string;
  lastModified?: string;
}

export interface UpstreamRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

/** A loopback server with mutable files; honours If-None-Match/If-Modified-Since like GitHub. */
export class FakeUpstream {
  readonly files = new Map<string, UpstreamFile>();
  readonly requests: UpstreamRequest[] = [];
  url = '';
  private server = http.createServer((req, res) => this.handle(req, res));

  async start(): Promise<this> {
    this.url = await listen(this.server);
    return this;
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  /** `validators: false` plays a server without ETag and Last-Modified (every GET is a full 200). */
  set(p: string, body: Buffer | string, contentType = 'application/octet-stream', validators = true): void {
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
    this.files.set(p, {
      body: buf,
      contentType,
      etag: validators ? `"${sha256(buf).slice(0, 40)}"` : undefined,
      lastModified: validators ? new Date(Date.now() - 60_000).toUTCString() : undefined,
    });
  }

  count(p: string): number {
    return this.requests.filter((r) => r.path === p).length;
  }

  reset(): void {
    this.requests.length = 0;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    this.requests.push({ method: req.method ?? 'GET', path: p, headers: req.headers });
    const f = this.files.get(p);
    if (!f) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    if (f.etag) res.setHeader('ETag', f.etag);
    if (f.lastModified) res.setHeader('Last-Modified', f.lastModified);
    // RFC 9110 §13.2.2: If-None-Match, when present, decides alone.
    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    const fresh = inm !== undefined ? inm === f.etag : ims !== undefined && ims === f.lastModified;
    if (fresh) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.setHeader('Content-Type', f.contentType);
    res.setHeader('Content-Length', String(f.body.length));
    res.end(req.method === 'HEAD' ? undefined : f.body);
  }
}

/** The plugin-api HttpClient over Node's fetch (no credentials: none are configured in tests). */
export class FetchHttpClient implements HttpClient {
  async request(
    url: string,
    init: { method?: 'GET' | 'HEAD'; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<HttpResponse> {
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      headers: init.headers,
      signal: init.signal,
    });
    const body = res.body
      ? Readable.fromWeb(res.body as import('node:stream/web').ReadableStream)
      : Readable.from([]);
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      headers[k] = v;
    });
    return {
      status: res.status,
      headers,
      url: res.url,
      body: body as HttpResponse['body'],
      async text(maxBytes = 1 << 20) {
        const chunks: Buffer[] = [];
        let n = 0;
        for await (const c of body) {
          n += c.length;
          if (n > maxBytes) throw new Error('too large');
          chunks.push(c);
        }
        return Buffer.concat(chunks).toString('utf8');
      },
      async dump() {
        body.resume();
        await new Promise((r) => body.once('close', r));
      },
    };
  }
}

/** Records events and delivers them like the runtime's bus. */
export class RecordingEventBus implements EventBus {
  readonly emitted: { name: string; payload: unknown }[] = [];
  private listeners = new Map<string, ((p: unknown) => void | Promise<void>)[]>();
  emit<N extends MirrorEventName>(name: N, payload: MirrorEvents[N]): void {
    this.emitted.push({ name, payload });
    for (const l of this.listeners.get(name) ?? []) void l(payload);
  }
  on<N extends MirrorEventName>(
    name: N,
    listener: (payload: MirrorEvents[N]) => void | Promise<void>,
  ): () => void {
    const list = this.listeners.get(name) ?? [];
    list.push(listener as (p: unknown) => void);
    this.listeners.set(name, list);
    return () => list.splice(list.indexOf(listener as (p: unknown) => void), 1);
  }
  vexStored(): MirrorEvents['vex.stored'][] {
    return this.emitted
      .filter((e) => e.name === 'vex.stored')
      .map((e) => e.payload as MirrorEvents['vex.stored']);
  }
}

/** Paths the fake upstream serves for the GitHub repository aquasecurity/vexhub. */
export const GH = {
  manifest: '/raw/aquasecurity/vexhub/main/vex-repository.json',
  zip: '/aquasecurity/vexhub/archive/refs/heads/main.zip',
  tarGz: '/aquasecurity/vexhub/archive/refs/heads/main.tar.gz',
};

export async function seedGithub(up: FakeUpstream): Promise<void> {
  up.set(GH.manifest, await fixture('vex-repository.json'), 'text/plain; charset=utf-8');
  up.set(GH.zip, await fixture('vexhub-main.zip'), 'application/zip');
  up.set(GH.tarGz, await fixture('vexhub-main.tar.gz'), 'application/x-gzip');
}

export interface Harness {
  container: Container;
  /** Base URL of the serve listener (also the publicUrl). */
  serveUrl: string;
  stateDir: string;
  pluginDir: string;
  events: RecordingEventBus;
  metrics: Registry;
  logs: string[];
  runJob(): Promise<JobOutcome>;
  stop(): Promise<void>;
}

/** Builds the container with `plugin.module(config)`, serves its routes on loopback and returns handles. */
export async function startHarness(
  rawConfig: unknown,
  options: { githubFrom?: FakeUpstream; stateDir?: string } = {},
): Promise<Harness> {
  const ownState = options.stateDir === undefined;
  const stateDir = options.stateDir ?? (await mkdtemp(path.join(os.tmpdir(), 'vexhub-mirror-test-')));
  const pluginDir = path.join(stateDir, 'plugins', 'vexhub-mirror');
  const logs: string[] = [];
  const logger: Logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        logs.push(line);
      },
    },
  );
  let routes: HttpRoute[] = [];
  const server = http.createServer(async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const candidates = routes
      .filter((r) => r.listener === 'serve' && url.pathname.startsWith(r.prefix))
      .sort((a, b) => b.prefix.length - a.prefix.length);
    for (const r of candidates) {
      if (await r.handle(req, res, url)) return;
    }
    res.statusCode = 404;
    res.end('not found');
  });
  const serveUrl = await listen(server);
  const gh = options.githubFrom;
  const config = plugin.configSchema.parse({
    ...(gh ? { githubBaseUrl: gh.url, githubRawBaseUrl: `${gh.url}/raw` } : {}),
    ...(rawConfig as object),
  });
  const events = new RecordingEventBus();
  const metrics = new Registry();
  const container = new Container();
  container.bind(HttpClient).toConstantValue(new FetchHttpClient());
  container.bind(EventBusToken).toConstantValue(events);
  container.bind(Metrics).toConstantValue({ registry: metrics });
  container.bind(RuntimeSettings).toConstantValue({
    stateDir,
    publicUrl: serveUrl,
    registries: [],
    mode: 'daemon',
  } satisfies RuntimeSettings);
  const context: PluginContext = {
    id: 'vexhub-mirror',
    stateDir,
    pluginDir,
    logger: logger.child({ plugin: 'vexhub-mirror' }),
    publicUrl: serveUrl,
    mode: 'daemon',
  };
  container.load(plugin.module(config, context));
  routes = container.getAll<HttpRoute>(HttpRoute, { optional: true });
  // Touch the other contributions so a binding mistake fails here.
  container.getAll<HealthCheck>(HealthCheck);
  container.getAll<ClientConfigContribution>(ClientConfigContribution);
  const job = container.getAll<Job>(Job).find((j) => j.id === 'vexhub-mirror');
  if (!job) throw new Error('no vexhub-mirror job bound');
  return {
    container,
    serveUrl,
    stateDir,
    pluginDir,
    events,
    metrics,
    logs,
    runJob: () =>
      job.run({
        signal: AbortSignal.timeout(60_000),
        logger: context.logger.child({ job: job.id }),
        reason: 'test',
        runId: randomUUID(),
      }),
    async stop() {
      await close(server);
      if (ownState) await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** GET or HEAD against the mirror, body as a Buffer. */
export async function get(
  url: string,
  init: { method?: 'GET' | 'HEAD'; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(url, { method: init.method ?? 'GET', headers: init.headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

// Which clients fetch what from the serving listener since start: requests, bytes, tags and 304s per
// client version and artifact, for /status, the status page and /metrics. Bounded: a hostile
// User-Agent can neither grow memory nor metric cardinality past MAX_CLIENTS versions.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock, Logger } from '@trivy-mirror/plugin-api';
import { artifactOf, type ClientId, clientOf, OTHER_CLIENT } from './client-request.js';
import { clientWarnings } from './client-warnings.js';

export const MAX_CLIENTS = 32;
/** Tags kept per client and artifact (only tags asked for by name are recorded). */
export const MAX_TAGS = 8;

export interface ArtifactUseStatus {
  requests: number;
  /** Body bytes of GETs answered 200/206 that went out whole. */
  bytes: number;
  lastSeen: string;
  /** Tags whose manifest the client asked for by name. */
  tags: string[];
  /** Answers 304 Not Modified. */
  notModified: number;
  /** Answers 400 and above. */
  failed: number;
}

export interface ClientStatus extends ClientId {
  firstSeen: string;
  lastSeen: string;
  requests: number;
  bytes: number;
  artifacts: Record<string, ArtifactUseStatus>;
  warnings: string[];
}

/** One finished request on the serving listener. */
export interface ServedRequest {
  method: string;
  path: string;
  userAgent?: string;
  status: number;
  /** The response went out whole (not cut off by the client or an error). */
  finished: boolean;
  /** Body bytes the handler wrote. */
  bodyBytes: number;
  /** False for the 401s of the authenticators: counted apart, never per client. */
  authorized: boolean;
}

/** Where the counts also go (RuntimeMetrics). */
export interface ClientMetricsSink {
  recordClientRequest(r: ClientId & { artifact: string; code: number; bytes: number }): void;
  recordClientUnauthorized(artifact: string): void;
}

const keyOf = (c: ClientId) => `${c.client}/${c.version}`;

interface Use extends Omit<ArtifactUseStatus, 'tags'> {
  tags: Set<string>;
}

interface Entry extends Omit<ClientStatus, 'artifacts' | 'warnings'> {
  artifacts: Map<string, Use>;
  /** Warnings already logged. */
  warned: Set<string>;
}

type Write = (chunk: unknown, ...rest: unknown[]) => unknown;

/**
 * Counts the body bytes written to `res`: handlers may send headers through writeHead, where
 * getHeader('content-length') does not see them, or stream without a length.
 */
function countBody(res: ServerResponse): () => number {
  let n = 0;
  const size = (chunk: unknown, encoding: unknown) =>
    typeof chunk === 'string'
      ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
      : chunk instanceof Uint8Array
        ? chunk.byteLength
        : 0;
  for (const name of ['write', 'end'] as const) {
    const original = res[name] as unknown as Write;
    (res as unknown as Record<string, Write>)[name] = function (this: unknown, chunk, ...rest) {
      n += size(chunk, rest[0]);
      return original.call(this, chunk, ...rest);
    };
  }
  return () => n;
}

export class ClientsSeen {
  readonly #entries = new Map<string, Entry>();
  readonly #deps: { clock: Clock; logger: Logger; metrics?: ClientMetricsSink; maxClients?: number };

  constructor(deps: { clock: Clock; logger: Logger; metrics?: ClientMetricsSink; maxClients?: number }) {
    this.#deps = deps;
  }

  /** Records the request once its response is done; requests for no artifact are ignored. */
  watch(req: IncomingMessage, res: ServerResponse, url: URL, authorized: boolean): void {
    if (!artifactOf(url.pathname)) return;
    const body = authorized && req.method === 'GET' ? countBody(res) : () => 0;
    res.once('close', () =>
      this.record({
        method: req.method ?? 'GET',
        path: url.pathname,
        userAgent: req.headers['user-agent'],
        status: res.statusCode,
        finished: res.writableFinished,
        bodyBytes: body(),
        authorized,
      }),
    );
  }

  record(r: ServedRequest): void {
    const target = artifactOf(r.path);
    if (!target) return;
    const { artifact, tag } = target;
    if (!r.authorized) {
      this.#deps.metrics?.recordClientUnauthorized(artifact);
      return;
    }
    const at = this.#deps.clock.now().toISOString();
    const entry = this.#entry(clientOf(r.userAgent), at);
    const bytes =
      r.method === 'GET' && r.finished && (r.status === 200 || r.status === 206) ? r.bodyBytes : 0;
    let use = entry.artifacts.get(artifact);
    if (!use) {
      use = { requests: 0, bytes: 0, lastSeen: at, tags: new Set(), notModified: 0, failed: 0 };
      entry.artifacts.set(artifact, use);
    }
    entry.lastSeen = use.lastSeen = at;
    entry.requests++;
    use.requests++;
    entry.bytes += bytes;
    use.bytes += bytes;
    if (r.status === 304) use.notModified++;
    if (r.status >= 400) use.failed++;
    const newTag = !!tag && !use.tags.has(tag) && use.tags.size < MAX_TAGS;
    if (newTag) use.tags.add(tag);
    this.#deps.metrics?.recordClientRequest({
      client: entry.client,
      version: entry.version,
      artifact,
      code: r.status,
      bytes,
    });
    // only a new tag or a 304 can raise a warning
    if (newTag || r.status === 304) this.#logNewWarnings(entry);
  }

  /** Every client seen since start, most recent first. */
  snapshot(): ClientStatus[] {
    return [...this.#entries.values()]
      .map((e) => {
        const artifacts: Record<string, ArtifactUseStatus> = {};
        for (const [name, u] of [...e.artifacts].sort(([a], [b]) => a.localeCompare(b)))
          artifacts[name] = { ...u, tags: [...u.tags].sort() };
        const { warned: _, ...rest } = e;
        return { ...rest, artifacts, warnings: clientWarnings({ ...e, artifacts }) };
      })
      .sort((a, b) => b.lastSeen.localeCompare(a.lastSeen) || a.client.localeCompare(b.client));
  }

  /** The client's entry; past the bound, new versions count as 'other'. */
  #entry(id: ClientId, at: string): Entry {
    const max = this.#deps.maxClients ?? MAX_CLIENTS;
    let found = this.#entries.get(keyOf(id));
    if (!found && id.client !== OTHER_CLIENT.client && this.#known() >= max) {
      id = OTHER_CLIENT;
      found = this.#entries.get(keyOf(id));
    }
    if (found) return found;
    const entry: Entry = {
      ...id,
      firstSeen: at,
      lastSeen: at,
      requests: 0,
      bytes: 0,
      artifacts: new Map(),
      warned: new Set(),
    };
    this.#entries.set(keyOf(id), entry);
    this.#deps.logger.info({ client: id.client, version: id.version || undefined }, 'new client');
    return entry;
  }

  /** Entries other than 'other'. */
  #known(): number {
    return this.#entries.size - (this.#entries.has(keyOf(OTHER_CLIENT)) ? 1 : 0);
  }

  #logNewWarnings(entry: Entry): void {
    const artifacts = Object.fromEntries(
      [...entry.artifacts].map(([n, u]) => [n, { ...u, tags: [...u.tags] }]),
    );
    for (const w of clientWarnings({ ...entry, artifacts })) {
      if (entry.warned.has(w)) continue;
      entry.warned.add(w);
      this.#deps.logger.warn({ client: entry.client, version: entry.version }, w);
    }
  }
}

// Contribution points: a symbol and an interface of the same name. Plugins `bind(Point).to…()`;
// the runtime reads all contributions of a point (`getAll`). Adding a plugin never edits a consumer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RegistryCredential } from '@trivy-mirror/oci';
import type { MirrorEventName } from './events.js';
import type { Logger } from './logger.js';

export interface JobContext {
  signal: AbortSignal;
  /** Child logger bound to `{ job, runId }`. */
  logger: Logger;
  /** 'start', 'schedule', 'event:artifact.stored', 'admin', 'cli', … */
  reason: string;
  runId: string;
}

/** A run that throws is a failure; otherwise it reports success or skipped (nothing changed). */
export interface JobOutcome {
  status: 'success' | 'skipped';
  summary: string;
  /** Bytes transferred or written, for /metrics. */
  bytes?: number;
  details?: Record<string, unknown>;
}

export interface JobRunRecord {
  jobId: string;
  runId: string;
  reason: string;
  status: 'running' | 'success' | 'skipped' | 'failure';
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  summary?: string;
  bytes?: number;
  error?: { code?: string; message: string };
  details?: Record<string, unknown>;
}

export interface Job {
  /** Unique; used in `/jobs/ID/run`, `sync --only`, logs and metrics. */
  id: string;
  description: string;
  /** Cron expression (node-cron, 5 or 6 fields). Undefined: only on demand or on events. */
  schedule?: string;
  /** Run once when the daemon starts (default true). */
  runOnStart?: boolean;
  /** Aborts the run's signal after this long (default 1 h). */
  timeoutMs?: number;
  /** Events that trigger a run. */
  triggers?: MirrorEventName[];
  /** Part of `trivy-mirror sync` (default true). */
  partOfSync?: boolean;
  run(context: JobContext): Promise<JobOutcome>;
}
export const Job: unique symbol = Symbol.for('trivy-mirror.Job');

export interface WatchChange {
  event: 'add' | 'change' | 'unlink' | 'addDir' | 'unlinkDir';
  path: string;
}

/** Paths the shared chokidar watcher observes for a plugin. */
export interface CacheWatch {
  id: string;
  /** Absolute directories to watch (created by the plugin before start). */
  paths(): string[];
  /** Paths to ignore (e.g. the plugin's own staging dirs). */
  ignored?(path: string): boolean;
  /** Changes are batched for this long (default 300 ms). */
  debounceMs?: number;
  onChange(changes: WatchChange[], signal: AbortSignal): Promise<void>;
}
export const CacheWatch: unique symbol = Symbol.for('trivy-mirror.CacheWatch');

export interface HealthReport {
  /** False keeps /readyz at 503. */
  ready: boolean;
  /** Why not ready (or a short note). */
  reason?: string;
  /** Shown under `components.<id>` in /status. Never put secrets here. */
  status?: Record<string, unknown>;
}

/** Contributes to /readyz and /status. */
export interface HealthCheck {
  id: string;
  check(): HealthReport | Promise<HealthReport>;
}
export const HealthCheck: unique symbol = Symbol.for('trivy-mirror.HealthCheck');

/** A read-only route. The serving listener answers 405 to anything but GET and HEAD before routing. */
export interface HttpRoute {
  id: string;
  listener: 'serve' | 'admin';
  /** Path prefix; the longest matching prefix wins. */
  prefix: string;
  /** Return false to fall through to 404. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean | Promise<boolean>;
}
export const HttpRoute: unique symbol = Symbol.for('trivy-mirror.HttpRoute');

/** Asked in ascending `order`; the first defined answer wins. */
export interface HttpCredential {
  token?: string;
  username?: string;
  password?: string;
  source: string;
}

export interface CredentialProvider {
  id: string;
  order: number;
  forRegistry?(host: string): Promise<RegistryCredential | undefined>;
  forUrl?(url: URL): Promise<HttpCredential | undefined>;
}
export const CredentialProvider: unique symbol = Symbol.for('trivy-mirror.CredentialProvider');

/** 'busy': too many checks pending to check this one now (the client gets 503 and retries). */
export type AuthDecision = 'granted' | 'denied' | 'absent' | 'busy';

/**
 * Access control for the serving listener. With at least one contribution, a request must be
 * 'granted' by one of them; otherwise it gets 401 with a Basic challenge. Denied credentials count
 * against the client's failure budget (429 once it is spent).
 */
export interface ServeAuthenticator {
  id: string;
  /** Realm for the Basic challenge of the 401 answer (the first contribution's realm is used). */
  realm?: string;
  authenticate(req: IncomingMessage): AuthDecision | Promise<AuthDecision>;
}
export const ServeAuthenticator: unique symbol = Symbol.for('trivy-mirror.ServeAuthenticator');

/** Start/stop hooks. start() runs before jobs start; a failure stops start-up. stop() runs at shutdown. */
export interface LifecycleContribution {
  id: string;
  /**
   * Checks, without side effects, what start() will need (secret files, env vars, credentials);
   * `trivy-mirror config check` runs it. Throw a ConfigError whose issues name the YAML paths.
   */
  check?(signal: AbortSignal): Promise<void>;
  start?(signal: AbortSignal): Promise<void>;
  stop?(): Promise<void>;
}
export const LifecycleContribution: unique symbol = Symbol.for('trivy-mirror.LifecycleContribution');

/** Lines for `trivy-mirror client-config`: how Trivy clients should use this mirror. */
export interface ClientConfigContribution {
  id: string;
  /**
   * `publicUrl` is undefined when the mirror serves nothing itself (no serve.publicUrl and no
   * --public-url): a section then points at destinations or cache dirs, or returns undefined.
   */
  render(options: { publicUrl?: string; cacheDir?: string }): ClientConfigSection | undefined;
}
export interface ClientConfigSection {
  title: string;
  flags?: string[];
  env?: Record<string, string>;
  /** trivy.yaml fragment, as YAML text. */
  trivyYaml?: string;
  files?: { path: string; content: string }[];
  notes?: string[];
  /** Other recipes to the same end (e.g. a fallback list, registry.mirrors), each naming the Trivy it needs. */
  alternatives?: ClientConfigRecipe[];
}
export interface ClientConfigRecipe {
  title: string;
  flags?: string[];
  env?: Record<string, string>;
  trivyYaml?: string;
  notes?: string[];
}
export const ClientConfigContribution: unique symbol = Symbol.for('trivy-mirror.ClientConfigContribution');

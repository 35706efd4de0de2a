// Shared services the runtime binds once; plugins inject them by these symbols.
import type { HostOptions, RegistryCredential, SigningKey, Transport, TrustedKey } from '@trivy-mirror/oci';
import type { HttpCredential, JobRunRecord } from './contributions.js';
import type { MirrorEventName, MirrorEvents } from './events.js';
import type { Logger as LoggerInterface } from './logger.js';

/** See logger.ts: trace … fatal and child(bindings). */
export type Logger = LoggerInterface;

/** The root logger. Plugins normally use `PluginContext.logger`. */
export const Logger: unique symbol = Symbol.for('trivy-mirror.Logger');

export interface Clock {
  now(): Date;
}
export const Clock: unique symbol = Symbol.for('trivy-mirror.Clock');

export interface EventBus {
  /** Delivers to every listener; a failing listener is logged, never breaks the emitter. */
  emit<N extends MirrorEventName>(name: N, payload: MirrorEvents[N]): void;
  on<N extends MirrorEventName>(
    name: N,
    listener: (payload: MirrorEvents[N]) => void | Promise<void>,
  ): () => void;
}
export const EventBus: unique symbol = Symbol.for('trivy-mirror.EventBus');

/** Global settings plugins may need. */
export interface RuntimeSettings {
  stateDir: string;
  /** Public base URL of the serving listener, if configured (no trailing slash). */
  publicUrl?: string;
  /** Per-host transport settings from the top-level `registries:` section. */
  registries: HostOptions[];
  mode: 'daemon' | 'cli' | 'demo';
}
export const RuntimeSettings: unique symbol = Symbol.for('trivy-mirror.RuntimeSettings');

/**
 * The OCI distribution client, configured with `registries:` and with credentials from every
 * CredentialProvider contribution. It implements Transport for `kind: 'registry'` references.
 */
export const RegistryTransport: unique symbol = Symbol.for('trivy-mirror.RegistryTransport');
export type RegistryTransport = Transport;

/** Root of the local store: one OCI image layout per repository under `stateDir/oci/<name>`. */
export interface ArtifactStore {
  /** Absolute path of the layout directory for `repository` (e.g. 'trivy-db'). */
  layoutPath(repository: string): string;
  /** A Transport for `kind: 'layout'` references (the same one for every layout). */
  transport: Transport;
  /** Repositories that have a layout. */
  repositories(): Promise<string[]>;
}
export const ArtifactStore: unique symbol = Symbol.for('trivy-mirror.ArtifactStore');

/** HTTP client for non-registry sources (VEX). Applies credentials and TLS settings per host. */
export interface HttpClient {
  request(
    url: string,
    init?: {
      method?: 'GET' | 'HEAD';
      headers?: Record<string, string>;
      signal?: AbortSignal;
      /** Do not attach credentials (e.g. after a redirect to another host). */
      anonymous?: boolean;
    },
  ): Promise<HttpResponse>;
}
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The final URL after redirects. */
  url: string;
  body: NodeJS.ReadableStream & AsyncIterable<Buffer>;
  /** Reads the whole body (capped); use only for small documents. */
  text(maxBytes?: number): Promise<string>;
  /** Drains and discards the body. */
  dump(): Promise<void>;
}
export const HttpClient: unique symbol = Symbol.for('trivy-mirror.HttpClient');

/** Run jobs on demand (events, admin trigger, other plugins). */
export interface JobRunner {
  /**
   * Starts a run unless one is already running (then resolves with the running one).
   * Resolves when the run ends; never rejects (failures are in the record).
   */
  trigger(jobId: string, reason: string): Promise<JobRunRecord>;
  /** Last run record of a job, if any. */
  lastRun(jobId: string): JobRunRecord | undefined;
}
export const JobRunner: unique symbol = Symbol.for('trivy-mirror.JobRunner');

/**
 * The registry plugin metrics go in. At run time a prom-client `Registry`; the contract keeps it opaque so
 * it pins no prom-client version on plugins. A plugin that uses prom-client narrows it with its own types
 * (`metrics.registry as Registry`) and creates its metrics with `registers: [registry]`, reusing one
 * that exists (`getSingleMetric`) when a container is built again on the same registry (reloads, tests).
 */
export interface MetricsRegistry {
  getSingleMetric(name: string): unknown;
}

export interface Metrics {
  registry: MetricsRegistry;
}
export const Metrics: unique symbol = Symbol.for('trivy-mirror.Metrics');

/** Asks every CredentialProvider in order; used by RegistryTransport and HttpClient. */
export interface CredentialStore {
  forRegistry(host: string): Promise<RegistryCredential | undefined>;
  forUrl(url: string): Promise<HttpCredential | undefined>;
}
export const CredentialStore: unique symbol = Symbol.for('trivy-mirror.CredentialStore');

/**
 * The mirror's signing key (top-level `signing:`): what the connected side signs each version it
 * admits with, cosign-compatibly. Off (`enabled: false`) without a `signing:` section.
 */
export interface Signing {
  readonly enabled: boolean;
  /** Where the key comes from, for messages: "file /etc/trivy-mirror/signing.key", "credential NAME". */
  readonly source?: string;
  /** The mirror's version, for the provenance of what it signs. */
  readonly mirrorVersion: string;
  /**
   * The key, read once (undefined when signing is off). Throws the SignatureError of loadSigningKey
   * (SIGNING_KEY_PERMISSIONS, SIGNING_KEY_INVALID) when the file cannot be used.
   */
  key(): Promise<SigningKey | undefined>;
}
export const Signing: unique symbol = Symbol.for('trivy-mirror.Signing');

/**
 * The inside's trusted keys (top-level `trust:`): `import` and the inside daemon check each version's
 * cosign signature against them; with `require` only what they signed is admitted and served.
 */
export interface Trust {
  /** At least one key is configured. */
  readonly enabled: boolean;
  readonly require: boolean;
  /** The configured key files. */
  readonly files: readonly string[];
  /** The keys, read once; throws the SignatureError (TRUSTED_KEY_INVALID) of a file that cannot be used. */
  keys(): Promise<TrustedKey[]>;
}
export const Trust: unique symbol = Symbol.for('trivy-mirror.Trust');

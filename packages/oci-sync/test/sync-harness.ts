// Test harness: the oci-sync plugin in an Inversify container with the runtime's services stood in
// by small real ones (pino to a buffer, a tiny event bus, RegistryClient, a store over a temp dir).
import { createHash, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type GeneratedArtifact, generateArtifact } from '@trivy-mirror/fixtures';
import { LayoutTransport, RegistryClient } from '@trivy-mirror/oci';
import {
  ArtifactStore,
  Clock,
  EventBus,
  HealthCheck,
  HttpRoute,
  ClientConfigContribution,
  Job,
  LifecycleContribution,
  type JobOutcome,
  Logger,
  Metrics,
  type MirrorEvents,
  RegistryTransport,
  RuntimeSettings,
  Signing,
} from '@trivy-mirror/plugin-api';
import { Container } from 'inversify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import plugin, { findLayouts, type OciSyncConfig } from '../src/index.js';
import type { OciSyncJob } from '../src/sync/sync-job.js';

export interface Harness {
  container: Container;
  job: Job;
  health: HealthCheck;
  routes: HttpRoute[];
  clientConfig: ClientConfigContribution[];
  events: { name: string; payload: unknown }[];
  metrics: Registry;
  stateDir: string;
  storeRoot: string;
  logs: string[];
  client: RegistryClient;
  run(): Promise<JobOutcome>;
  /** Resolves once the metadata.json reads that runs started in the background have ended. */
  metadataRead(): Promise<void>;
  /** The plugin's lifecycle stop (abandons a metadata read under way). */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function createHarness(
  stateDir: string,
  rawConfig: Partial<OciSyncConfig> & Record<string, unknown>,
  /** Bound as the runtime's Signing service (top-level `signing:`). */
  signing?: Signing,
): Promise<Harness> {
  const config = plugin.configSchema.parse(rawConfig);
  const logs: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    }),
  );
  const events: { name: string; payload: unknown }[] = [];
  const listeners = new Map<string, ((p: unknown) => void)[]>();
  const bus: EventBus = {
    emit(name, payload) {
      events.push({ name, payload });
      for (const l of listeners.get(name) ?? []) l(payload);
    },
    on(name, listener) {
      const list = listeners.get(name) ?? [];
      list.push(listener as (p: unknown) => void);
      listeners.set(name, list);
      return () => list.splice(list.indexOf(listener as (p: unknown) => void), 1);
    },
  };
  const storeRoot = join(stateDir, 'oci');
  await mkdir(storeRoot, { recursive: true });
  const pluginDir = join(stateDir, 'plugins', 'oci-sync');
  await mkdir(pluginDir, { recursive: true });
  const client = new RegistryClient({
    retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 200, maxRetryAfterMs: 3000 },
  });
  const metrics = new Registry();
  const store: ArtifactStore = {
    layoutPath: (repository) => join(storeRoot, repository),
    transport: new LayoutTransport(),
    repositories: () => findLayouts(storeRoot),
  };

  const container = new Container();
  container.bind(Logger).toConstantValue(logger);
  container.bind(EventBus).toConstantValue(bus);
  container.bind(Clock).toConstantValue({ now: () => new Date() });
  container.bind(RuntimeSettings).toConstantValue({ stateDir, registries: [], mode: 'cli' });
  container.bind(RegistryTransport).toConstantValue(client);
  container.bind(ArtifactStore).toConstantValue(store);
  container.bind(Metrics).toConstantValue({ registry: metrics });
  if (signing) container.bind(Signing).toConstantValue(signing);
  container.load(
    plugin.module(config, {
      id: 'oci-sync',
      stateDir,
      pluginDir,
      logger: logger.child({ plugin: 'oci-sync' }),
      mode: 'cli',
    }),
  );
  const jobs = container.getAll<Job>(Job);
  const healths = container.getAll<HealthCheck>(HealthCheck);
  return {
    container,
    job: jobs[0],
    health: healths[0],
    routes: container.getAll<HttpRoute>(HttpRoute, { optional: true }),
    clientConfig: container.getAll<ClientConfigContribution>(ClientConfigContribution, { optional: true }),
    events,
    metrics,
    stateDir,
    storeRoot,
    logs,
    client,
    run: () =>
      jobs[0].run({
        signal: AbortSignal.timeout(60_000),
        logger: logger.child({ job: 'oci-sync' }),
        reason: 'test',
        runId: randomUUID(),
      }),
    metadataRead: () => (jobs[0] as OciSyncJob).metadata.settled(),
    stop: async () => {
      for (const l of container.getAll<LifecycleContribution>(LifecycleContribution, { optional: true }))
        await l.stop?.();
    },
    close: () => client.close(),
  };
}

export function storedEvents(h: Harness): MirrorEvents['artifact.stored'][] {
  return h.events
    .filter((e) => e.name === 'artifact.stored')
    .map((e) => e.payload as MirrorEvents['artifact.stored']);
}

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A generated artifact with its manifest edited (for invalid artifacts); blobs stay pushable. */
export function withManifest(
  artifact: GeneratedArtifact,
  // biome-ignore lint/suspicious/noExplicitAny: tests edit arbitrary manifest fields
  edit: (m: Record<string, any>) => void,
): GeneratedArtifact {
  const manifest = JSON.parse(artifact.manifestBytes.toString('utf8'));
  edit(manifest);
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return { ...artifact, manifestBytes, manifestDigest: sha256(manifestBytes) };
}

export async function smallDb(workDir: string, seed: string, updatedAt = new Date('2026-01-02T03:04:05Z')) {
  return generateArtifact({ kind: 'trivy-db', dbBytes: 64 * 1024, seed, updatedAt, workDir });
}

// Events that connect plugins. Payloads are plain data.

export interface ArtifactStoredEvent {
  /** Repository name in the store (e.g. 'trivy-db'). */
  repository: string;
  tag: string;
  /** Manifest digest as stored. */
  digest: string;
  /** The single layer's digest, media type and title. */
  layer: { digest: string; mediaType: string; size: number; title?: string };
  /** Absolute path of the layout that holds it. */
  layoutPath: string;
  /** True when the content changed compared to the previous version of the tag. */
  changed: boolean;
}

/**
 * A reader found part of a stored artifact damaged: a blob that does not hash to its digest, one a
 * stored version references that is missing, or (no digest) an index.json that cannot be read. The
 * store's owner (oci-sync) checks it, quarantines what is bad and fetches it again.
 */
export interface ArtifactDamagedEvent {
  /** Repository name in the store (e.g. 'trivy-db'). */
  repository: string;
  /** The bad or missing blob; undefined when the damage is in index.json or not known more exactly. */
  digest?: string;
  /** What the reader saw, e.g. 'content hashes to sha256:… (N bytes)', 'missing from the store'. */
  reason: string;
  /** Who found it: 'serve', 'cache-populator', 'health', … */
  reporter: string;
}

export interface VexStoredEvent {
  /** Repository name as configured (e.g. 'vexhub'). */
  repository: string;
  /** Directory holding the extracted repository (the folder with index.json). */
  contentDir: string;
  /** The rewritten manifest as served (vex-repository.json). */
  manifestPath: string;
  /** Path of the archive as served. */
  archivePath: string;
  /** ETag (or content digest) of the archive. */
  etag: string;
  updatedAt: string;
  changed: boolean;
}

export interface CachePopulatedEvent {
  dir: string;
  parts: string[];
}

export interface SyncRequestedEvent {
  /** Why (e.g. 'cache /var/cache/trivy db stale'). */
  reason: string;
  repository?: string;
}

/** Bytes moved by a running job, for progress displays (throttled by the emitter). */
export interface JobProgressEvent {
  job: string;
  /** What moves, e.g. 'trivy-db:2 layer' or 'trivy-db:2 -> registry.internal/trivy'. */
  item: string;
  bytes: number;
  total: number;
}

export interface MirrorEvents {
  'artifact.stored': ArtifactStoredEvent;
  'artifact.damaged': ArtifactDamagedEvent;
  'vex.stored': VexStoredEvent;
  'cache.populated': CachePopulatedEvent;
  'sync.requested': SyncRequestedEvent;
  'job.progress': JobProgressEvent;
  /** Free-form events for external plugins. */
  [name: `x.${string}`]: Record<string, unknown>;
}
export type MirrorEventName = keyof MirrorEvents & string;

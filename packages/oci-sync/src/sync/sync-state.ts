// What oci-sync remembers between runs (pluginDir/state.json): per artifact/tag status for
// /status, and per source reference the last manifest digest seen with its layer digest, so an
// unchanged upstream costs one manifest HEAD even when the store's copy came from another source.
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '@trivy-mirror/oci/fs';

export interface ArtifactTagStatus {
  artifact: string;
  tag: string;
  /** Source reference the stored version was confirmed from last (e.g. mirror.gcr.io/aquasec/trivy-db:2). */
  source?: string;
  manifestDigest?: string;
  layerDigest?: string;
  layerSize?: number;
  /** From metadata.json (trivy-db, trivy-java-db). */
  updatedAt?: string;
  nextUpdate?: string;
  /** The layer whose metadata.json was read (present or not); pending while it differs from layerDigest. */
  metadataRead?: string;
  /** From the version annotation (trivy-checks). */
  version?: string;
  /** Bytes moved by the last run (downloaded + pushed). */
  bytes?: number;
  durationMs?: number;
  lastAttempt?: string;
  lastSuccess?: string;
  /** The current version came by `trivy-mirror import`: when, and from which directory. */
  importedAt?: string;
  importedFrom?: string;
  /** When the stored content last changed. */
  lastChange?: string;
  lastError?: { code?: string; message: string; at: string };
  /** Who signed the served version (top-level `trust:`): key id and file, or what failed. */
  signature?: { keyId?: string; keyIdShort?: string; keyFile?: string; failure?: string; message?: string };
  destinations?: Record<string, { digest?: string; lastPush?: string; lastError?: string }>;
}

/** An upstream manifest refused as a rollback, and the served version it was checked against. */
export interface RefusedRollback {
  manifestDigest: string;
  updatedAt: string;
  servedDigest: string;
  servedUpdatedAt: string;
}

export interface SourceSeen {
  manifestDigest: string;
  layerDigest: string;
  at: string;
  /** This manifest was refused as a rollback (see sync-rollback.ts). */
  refusedRollback?: RefusedRollback;
}

export interface SyncStateData {
  artifacts: Record<string, ArtifactTagStatus>;
  sources: Record<string, SourceSeen>;
}

export function statusKey(artifact: string, tag: string): string {
  return `${artifact}:${tag}`;
}

/** In-memory state with atomic saves; a missing or broken file starts empty (it is only a cache). */
export class SyncState {
  data: SyncStateData = { artifacts: {}, sources: {} };
  private loaded = false;

  constructor(private readonly file: string | undefined) {}

  async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    if (!this.file) return;
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as Partial<SyncStateData>;
      this.data = { artifacts: parsed.artifacts ?? {}, sources: parsed.sources ?? {} };
    } catch {
      // first start, or a damaged cache: rebuilt by the next run
    }
  }

  get(artifact: string, tag: string): ArtifactTagStatus {
    const key = statusKey(artifact, tag);
    this.data.artifacts[key] ??= { artifact, tag };
    return this.data.artifacts[key];
  }

  async save(): Promise<void> {
    if (!this.file) return;
    await mkdir(dirname(this.file), { recursive: true });
    await writeFileAtomic(this.file, `${JSON.stringify(this.data, null, 2)}\n`);
  }
}

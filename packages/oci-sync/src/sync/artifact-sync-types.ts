// What one artifact/tag sync is given and what it returns, shared by the sync (artifact-sync.ts), the
// destination pushes and the check of a store without upstream: a file of their own, so none of them
// imports another for its types.
import type { Descriptor, Transport } from '@trivy-mirror/oci';
import type { ArtifactStore, Logger, Signing } from '@trivy-mirror/plugin-api';
import type { OciSyncConfig } from '../config.js';
import type { StoreDamage } from '../store/store-damage.js';
import type { ServedTrust } from '../trust/served-trust.js';
import type { SourceCooldowns } from './source-fallback.js';
import type { SyncState } from './sync-state.js';

export interface ArtifactSyncDeps {
  registry: Transport;
  store: ArtifactStore;
  config: OciSyncConfig;
  state: SyncState;
  cooldowns: SourceCooldowns;
  logger: Logger;
  now: () => Date;
  signal: AbortSignal;
  /** Bytes of one blob moved so far (for progress displays). */
  onProgress?: (item: string, bytes: number, total: number) => void;
  /** Records damage the job finds in the store (quarantine, /readyz). */
  damage?: StoreDamage;
  /** Who signed the served versions (top-level `trust:`); refuses untrusted ones with trust.require. */
  servedTrust?: ServedTrust;
  /** Signs each stored version (top-level `signing:`); off when absent or disabled. */
  signing?: Signing;
}

export interface DestinationResult {
  destination: string;
  reference: string;
  pushed: boolean;
  bytes: number;
  /** The destination's tag holds this newer, complete version (another writer's): left as it is. */
  superseded?: string;
  error?: string;
}

export interface ArtifactTagResult {
  artifact: string;
  tag: string;
  ok: boolean;
  /** The store's version of the tag changed in this run. */
  changed: boolean;
  /** The stored version was damaged and has been fetched again (the same version). */
  repaired?: boolean;
  source?: string;
  digest?: string;
  layer?: Descriptor & { title?: string };
  layoutPath: string;
  bytesDownloaded: number;
  bytesPushed: number;
  destinations: DestinationResult[];
  error?: unknown;
  durationMs: number;
}

// Options of one populate call after defaults and owner resolution, shared by the part writers.
import type { ResolvedOwner } from '../disk/file-owner.js';
import type { PopulateLogger } from './populate-logger.js';

export interface PopulateContext {
  cacheDir: string;
  now: () => Date;
  owner: ResolvedOwner;
  mode: number;
  dirMode: number;
  maxUnpackedBytes: number;
  force: boolean;
  /** Decide and report only: nothing is created, written or removed. */
  dryRun: boolean;
  signal?: AbortSignal;
  logger: PopulateLogger;
}

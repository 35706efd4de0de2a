// Without an upstream only imports change the store. The daemon watches each layout's index.json
// (an import swaps it last, atomically) and runs the job, so an import it was not told about
// (`import --no-notify`, another config, a copied tree) is still served, pushed and populated.
import { mkdirSync } from 'node:fs';
import { basename, relative, sep } from 'node:path';
import type { CacheWatch, JobRunner, Logger } from '@trivy-mirror/plugin-api';
import { OCI_SYNC_JOB_ID } from './sync-job.js';

export function createStoreWatch(storeRoot: string, jobs: JobRunner, logger: Logger): CacheWatch {
  return {
    id: 'oci-sync-store',
    paths: () => {
      mkdirSync(storeRoot, { recursive: true });
      return [storeRoot];
    },
    // Only layout directories and their index.json: never the blobs (or their temp files).
    ignored: (p) => {
      const rel = relative(storeRoot, p);
      if (rel === '') return false;
      const parts = rel.split(sep);
      return parts.some((s) => s === 'blobs' || s.startsWith('.')) || parts.length > 4;
    },
    debounceMs: 500,
    async onChange(changes) {
      const indexes = changes.filter((c) => c.event !== 'unlink' && basename(c.path) === 'index.json');
      if (indexes.length === 0) return;
      logger.info(
        { layouts: indexes.map((c) => relative(storeRoot, c.path)) },
        'store changed (an import); checking it',
      );
      // 'event:' so that a change during a run gets a follow-up run instead of being joined
      void jobs.trigger(OCI_SYNC_JOB_ID, 'event:store-changed');
    },
  };
}

// Repositories with `source: import` change only by `trivy-mirror import`, which swaps
// current.json last. The daemon watches those files and runs the job, so an import it was not
// told about is served (and populated) at once too.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { CacheWatch, JobRunner, Logger } from '@trivy-mirror/plugin-api';
import type { VersionStore } from '../versions/version-store.js';

export function createImportWatch(
  stores: VersionStore[],
  jobId: string,
  jobs: JobRunner,
  logger: Logger,
): CacheWatch {
  const dirs = stores.map((s) => s.dir);
  return {
    id: 'vexhub-mirror-imports',
    paths: () => {
      for (const d of dirs) mkdirSync(d, { recursive: true });
      return dirs;
    },
    // Only each repository folder itself and its current.json: not the versions or staging folders.
    ignored: (p) => !dirs.includes(p) && !dirs.includes(path.dirname(p)),
    debounceMs: 300,
    async onChange(changes) {
      const swapped = changes.filter((c) => c.event !== 'unlink' && path.basename(c.path) === 'current.json');
      if (swapped.length === 0) return;
      logger.info(
        { repositories: swapped.map((c) => path.basename(path.dirname(c.path))) },
        'vex version imported; taking it up',
      );
      // 'event:' so that a change during a run gets a follow-up run instead of being joined
      void jobs.trigger(jobId, 'event:vex-imported');
    },
  };
}

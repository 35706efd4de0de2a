// The `/status` document: the verdict (READY, SYNCING, STALE, FAILING and why), version, uptime,
// readiness, jobs (schedule, next and last run), components, the clients seen on the serving listener
// and the route each configured host's requests take.
import type { Job, JobRunRecord } from '@trivy-mirror/plugin-api';
import type { ClientStatus } from '../clients/clients-seen.js';
import type { Readiness } from './health-registry.js';
import type { NetworkStatus } from '../network/network-probe-service.js';
import type { PluginListing } from '../plugins/plugin-switch.js';
import type { JobStatus, StatusReport } from './status-document.js';
import { statusVerdict } from './status-verdict.js';

export type { JobStatus, StatusReport } from './status-document.js';

export interface JobView {
  jobs(): Job[];
  running(jobId: string): JobRunRecord | undefined;
  lastRun(jobId: string): JobRunRecord | undefined;
  nextRun(jobId: string): Date | undefined;
}

export function jobStatuses(view: JobView): JobStatus[] {
  return view
    .jobs()
    .map((job) => {
      const current = view.running(job.id);
      return {
        id: job.id,
        description: job.description,
        schedule: job.schedule,
        triggers: job.triggers ?? [],
        nextRun: view.nextRun(job.id)?.toISOString(),
        running: current !== undefined,
        currentRun: current,
        lastRun: view.lastRun(job.id),
      };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
}

export function buildStatus(options: {
  version: string;
  startedAt: Date;
  now: Date;
  readiness: Readiness;
  jobs: JobView;
  plugins: PluginListing[];
  clients?: ClientStatus[];
  network?: NetworkStatus;
}): StatusReport {
  const report: Omit<StatusReport, 'verdict'> = {
    version: options.version,
    startedAt: options.startedAt.toISOString(),
    uptimeSeconds: Math.round((options.now.getTime() - options.startedAt.getTime()) / 1000),
    phase: options.readiness.phase,
    ready: options.readiness.ready,
    reasons: options.readiness.reasons,
    jobs: jobStatuses(options.jobs),
    components: options.readiness.components,
    plugins: options.plugins,
    clients: options.clients ?? [],
    network: options.network,
  };
  // first in the document: what a person or a script reads first
  return { verdict: statusVerdict(report, options.now), ...report };
}

// The types of the /status document (and its verdict), apart from the code that builds and judges it
// (status-report.ts, status-verdict.ts, status-view.ts), so those three need not import one another for
// their types.
import type { JobRunRecord } from '@trivy-mirror/plugin-api';
import type { ClientStatus } from '../clients/clients-seen.js';
import type { NetworkStatus } from '../network/network-probe-service.js';
import type { PluginListing } from '../plugins/plugin-switch.js';

/** Worst first: the overall state is the worst of the rows. */
export const STATES = ['failing', 'stale', 'syncing', 'ready'] as const;
export type PageState = (typeof STATES)[number];

/** The verdict's states are the page's row states. */
export type VerdictState = PageState;

export interface StatusVerdict {
  state: VerdictState;
  /** READY, SYNCING, STALE, FAILING. */
  word: string;
  meaning: string;
  /** Why it is not READY, worst first (empty when READY). */
  reasons: string[];
}

export interface JobStatus {
  id: string;
  description: string;
  schedule?: string;
  triggers: string[];
  nextRun?: string;
  running: boolean;
  /** The run in progress, if any. */
  currentRun?: JobRunRecord;
  lastRun?: JobRunRecord;
}

export interface StatusReport {
  /** The one verdict the page and `trivy-mirror status` show (status-verdict.ts). */
  verdict: StatusVerdict;
  version: string;
  startedAt: string;
  uptimeSeconds: number;
  phase: string;
  ready: boolean;
  reasons: string[];
  jobs: JobStatus[];
  components: Record<string, unknown>;
  /** Every plugin of the config; `enabled: false` ones are not loaded. */
  plugins: PluginListing[];
  /** Clients seen on the serving listener since start, most recent first. */
  clients: ClientStatus[];
  /** Each configured source, destination and VEX host: direct or which proxy, and why; the last probe. */
  network?: NetworkStatus;
}

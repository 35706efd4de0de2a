// What the status page shows, read from the /status document: one state per row (the overall verdict,
// from the same rows, is status-verdict.ts). Reads the built-in plugins' component shapes defensively
// (a missing or odd field shows as "—").
import { type PageState, STATES, type StatusReport } from './status-document.js';

/** The /status document apart from its verdict (which is made from these rows). */
type Report = Omit<StatusReport, 'verdict'>;

export interface ArtifactRow {
  key: string;
  state: PageState;
  digest?: string;
  version?: string;
  updatedAt?: string;
  nextUpdate?: string;
  source?: string;
  lastSuccess?: string;
  /** With `trust:`: "signed by 3f2a… (mirror.pub)", "unsigned" or "not trusted (CODE)". */
  signedBy?: string;
  error?: { code?: string; message: string; at?: string };
  destinations: { reference: string; holds: boolean; lastPush?: string; error?: string }[];
}

export interface CacheRow {
  dir: string;
  part: string;
  state: PageState;
  version?: string;
  updatedAt?: string;
  populatedAt?: string;
  stale: boolean;
  lastResult?: { status?: string; at?: string };
  lastRepair?: { at?: string; reason?: string; repaired: boolean };
  error?: { code?: string; message: string; at?: string };
}

export interface VexRow {
  name: string;
  state: PageState;
  version?: string;
  updatedAt?: string;
  archiveSize?: number;
  intervalSeconds?: number;
  url?: string;
  error?: { code?: string; message: string; at?: string };
}

export interface StatusView {
  artifacts: ArtifactRow[];
  cache: CacheRow[];
  vex: VexRow[];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const time = (v: unknown): number | undefined => {
  const t = Date.parse(str(v) ?? '');
  return Number.isFinite(t) ? t : undefined;
};
function errorOf(v: unknown): ArtifactRow['error'] {
  const e = obj(v);
  const message = str(e.message);
  return message ? { code: str(e.code), message, at: str(e.at) } : undefined;
}

function signedBy(s: Record<string, unknown>): string | undefined {
  if (str(s.keyIdShort)) return `signed by ${str(s.keyIdShort)} (${str(s.keyFile) ?? '?'})`;
  if (str(s.failure) === 'UNSIGNED') return 'unsigned';
  return str(s.failure) ? `not trusted (${str(s.failure)})` : undefined;
}

export function worst(states: readonly PageState[]): PageState {
  return STATES.find((s) => states.includes(s)) ?? 'ready';
}

function artifactRows(report: Report, now: number, syncing: boolean): ArtifactRow[] {
  const artifacts = obj(obj(report.components['oci-sync']).artifacts);
  return Object.entries(artifacts).map(([key, raw]) => {
    const a = obj(raw);
    const digest = str(a.manifestDigest);
    const error = errorOf(a.lastError);
    const failing = !!error && (time(a.lastSuccess) ?? 0) <= (time(error.at) ?? 0);
    const destinations = Object.entries(obj(a.destinations)).map(([reference, d]) => ({
      reference,
      holds: !!digest && str(obj(d).digest) === digest,
      lastPush: str(obj(d).lastPush),
      error: str(obj(d).lastError),
    }));
    const next = time(a.nextUpdate);
    const state: PageState =
      failing || destinations.some((d) => d.error)
        ? 'failing'
        : next !== undefined && now > next
          ? 'stale'
          : syncing || a.stored !== true
            ? 'syncing'
            : 'ready';
    return {
      key,
      state,
      digest,
      version: str(a.version),
      updatedAt: str(a.updatedAt),
      nextUpdate: str(a.nextUpdate),
      source: str(a.source),
      lastSuccess: str(a.lastSuccess),
      signedBy: signedBy(obj(a.signature)),
      error: failing ? error : undefined,
      destinations,
    };
  });
}

function cacheRows(report: Report): CacheRow[] {
  const targets = obj(report.components['cache-populator']).targets;
  return (Array.isArray(targets) ? targets : []).flatMap((t) =>
    Object.entries(obj(obj(t).parts)).map(([part, raw]) => {
      const p = obj(raw);
      const error = errorOf(p.lastError);
      const stale = p.stale === true;
      const populated = p.populated === true;
      return {
        dir: str(obj(t).dir) ?? '?',
        part,
        state: (error && !populated
          ? 'failing'
          : stale
            ? 'stale'
            : populated
              ? 'ready'
              : 'syncing') as PageState,
        version: p.version === undefined ? undefined : String(p.version),
        updatedAt: str(p.updatedAt) ?? str(p.downloadedAt),
        populatedAt: str(p.populatedAt),
        stale,
        lastRepair: p.lastRepair
          ? {
              at: str(obj(p.lastRepair).at),
              reason: str(obj(p.lastRepair).reason),
              repaired: obj(p.lastRepair).repaired === true,
            }
          : undefined,
        lastResult: p.lastResult
          ? { status: str(obj(p.lastResult).status), at: str(obj(p.lastResult).at) }
          : undefined,
        error,
      };
    }),
  );
}

function vexRows(report: Report, now: number): VexRow[] {
  const repos = obj(obj(report.components['vexhub-mirror']).repositories);
  return Object.entries(repos).map(([name, raw]) => {
    const r = obj(raw);
    const error = errorOf(r.lastError);
    const updated = time(r.updatedAt);
    const interval = num(r.updateIntervalSeconds);
    const old = updated !== undefined && interval !== undefined && now - updated > 2 * interval * 1000;
    const state: PageState = error ? 'failing' : old ? 'stale' : str(r.version) ? 'ready' : 'syncing';
    return {
      name,
      state,
      version: str(r.version),
      updatedAt: str(r.updatedAt),
      archiveSize: num(r.archiveSize),
      intervalSeconds: interval,
      url: str(r.location) ?? str(r.archive),
      error,
    };
  });
}

/**
 * The rows of the page. `running: false` leaves out that a job is running (an artifact then reads
 * SYNCING only while it is not stored): the verdict does not turn SYNCING for every scheduled sync.
 */
export function buildView(report: Report, now: Date, options: { running?: boolean } = {}): StatusView {
  const t = now.getTime();
  const running = (id: string) =>
    options.running !== false && report.jobs.some((j) => j.id === id && j.running);
  return {
    artifacts: artifactRows(report, t, running('oci-sync')),
    cache: cacheRows(report),
    vex: vexRows(report, t),
  };
}

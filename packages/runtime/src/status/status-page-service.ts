// Wires the status page into the runtime: records every finished job run into the history (with
// the DB ages oci-sync reports at that moment) and answers GET / on the admin listener, and on the
// serving listener (behind its authenticators) when `serve.statusPage: true`.
import { join } from 'node:path';
import type { JobRunRecord, Logger } from '@trivy-mirror/plugin-api';
import type { JobRunnerService } from '../jobs/job-runner.js';
import { type RouteEntry, sendJson } from '../http/router.js';
import { type HistoryEntry, HISTORY_FILE, StatusHistory } from './status-history.js';
import { renderStatusPage } from './status-page.js';
import type { StatusReport } from './status-report.js';

export interface StatusPageHost {
  readonly jobs: JobRunnerService;
  readonly logger: Logger;
  readonly mode: string;
  readonly clock: { now(): Date };
  readonly config: { stateDir: string; serve?: { statusPage?: boolean } };
  status(): Promise<StatusReport>;
}

/** Seconds since UpdatedAt per artifact tag, from oci-sync's status. */
export function artifactAges(report: StatusReport, now: Date): Record<string, number> {
  const artifacts = (report.components['oci-sync'] as { artifacts?: Record<string, { updatedAt?: unknown }> })
    ?.artifacts;
  const ages: Record<string, number> = {};
  for (const [key, a] of Object.entries(artifacts ?? {})) {
    const t = Date.parse(typeof a?.updatedAt === 'string' ? a.updatedAt : '');
    if (Number.isFinite(t)) ages[key] = Math.max(0, Math.round((now.getTime() - t) / 1000));
  }
  return ages;
}

export class StatusPage {
  readonly #host: StatusPageHost;
  #history?: StatusHistory;
  /** Records still being written: a stop waits for them, so nothing lands in stateDir after it. */
  readonly #pending = new Set<Promise<void>>();

  constructor(host: StatusPageHost) {
    this.#host = host;
    // One-shot CLI runs (sync, populate) leave the daemon's history alone.
    if (host.mode !== 'cli')
      host.jobs.onFinished((r) => {
        const written = this.#record(r);
        this.#pending.add(written);
        void written.finally(() => this.#pending.delete(written));
      });
  }

  /** Resolves once every run recorded so far is in the history file. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }

  /** Opened on first use: stateDir is known from the config the runtime started with. */
  get history(): StatusHistory {
    this.#history ??= new StatusHistory(join(this.#host.config.stateDir, HISTORY_FILE), {
      now: () => this.#host.clock.now(),
    });
    return this.#history;
  }

  async #record(r: JobRunRecord): Promise<void> {
    try {
      const now = this.#host.clock.now();
      // A run that ends while the plugins stop still counts, without ages.
      const ages = await this.#host.status().then(
        (report) => artifactAges(report, now),
        (): Record<string, number> => ({}),
      );
      const entry: HistoryEntry = {
        t: r.endedAt ?? now.toISOString(),
        job: r.jobId,
        status: r.status,
        ms: r.durationMs,
        bytes: r.bytes,
        code: r.error?.code,
        ages: Object.keys(ages).length > 0 ? ages : undefined,
      };
      await this.history.record(entry);
    } catch (err) {
      this.#host.logger.warn({ err }, 'cannot record the run in the status history');
    }
  }

  async render(options: { adminLinks: boolean }): Promise<string> {
    const report = await this.#host.status();
    await this.history
      .load()
      .catch((err: unknown) => this.#host.logger.warn({ err }, 'status history unreadable'));
    return renderStatusPage(report, this.history.entries(), this.#host.clock.now(), options);
  }

  route(listener: 'admin' | 'serve'): RouteEntry {
    return {
      id: 'status-page',
      prefix: '/',
      exact: true,
      handle: async (req, res) => {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
          return true;
        }
        const html = await this.render({ adminLinks: listener === 'admin' });
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-length': Buffer.byteLength(html),
          'cache-control': 'no-store',
          // Nothing may load: no scripts, no external resources, inline styles only; the one form
          // (the network self-check) posts to this listener only.
          'content-security-policy':
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'",
          'x-content-type-options': 'nosniff',
          // not no-referrer: under it a browser sends `Origin: null` with the self-check's form POST,
          // which the admin guard refuses; the page links nowhere else
          'referrer-policy': 'same-origin',
        });
        res.end(req.method === 'HEAD' ? undefined : html);
        return true;
      },
    };
  }

  /** The serving listener's routes, plus the page when the config asks for it. */
  serveRoutes(routes: readonly RouteEntry[] | undefined): RouteEntry[] {
    const list = [...(routes ?? [])];
    if (this.#host.config.serve?.statusPage) list.push(this.route('serve'));
    return list;
  }
}

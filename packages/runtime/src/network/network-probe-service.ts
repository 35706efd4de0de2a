// The daemon's side of the network self-check: `network` in /status (each configured host's route,
// and the last probe), and POST /network/probe on the admin listener, which runs the same probe as
// `config check --online` with the daemon's own config, credentials and environment. The status page's
// button posts a form here (the admin guard lets a same-origin form through) and is sent back to the
// page (303), which shows the lines; a script gets them as JSON.
import type { Logger } from '@trivy-mirror/plugin-api';
import type { CredentialResolver, ProxyRouter } from '@trivy-mirror/oci';
import type { RuntimeConfig } from '../config/config-schema.js';
import { formatHostProbe, type HostProbe, type ProbeTarget } from './network-probe.js';
import { type HostRoute, hostRoutes } from './network-routes.js';
import { networkSelfCheck } from './network-self-check.js';
import { proxyRouterFor } from './network-settings.js';
import { networkTargets } from './network-targets.js';
import { type RouteEntry, sendJson } from '../http/router.js';

export const PROBE_PATH = '/network/probe';

export interface NetworkProbeRun {
  at: string;
  ms: number;
  /** True when every host answered through every layer. */
  ok: boolean;
  /** One line per host, as `config check --online` prints them. */
  lines: string[];
  hosts: HostProbe[];
}

/** `network` in /status. */
export interface NetworkStatus {
  hosts: HostRoute[];
  lastProbe?: NetworkProbeRun;
}

export interface NetworkProbeHost {
  readonly config: RuntimeConfig;
  readonly clock: { now(): Date };
  readonly logger: Logger;
  readonly userAgent?: string;
  /** The current plugin generation's credentials (undefined between generations). */
  credentials(): CredentialResolver | undefined;
}

export class NetworkProbes {
  readonly #host: NetworkProbeHost;
  readonly #plans = new WeakMap<RuntimeConfig, { router: ProxyRouter; targets: ProbeTarget[] }>();
  #last?: NetworkProbeRun;
  #running?: Promise<NetworkProbeRun>;

  constructor(host: NetworkProbeHost) {
    this.#host = host;
  }

  /** The router and targets of the current config (made once per config). */
  #plan() {
    const config = this.#host.config;
    let plan = this.#plans.get(config);
    if (!plan) {
      plan = { router: proxyRouterFor(config), targets: networkTargets(config) };
      this.#plans.set(config, plan);
    }
    return plan;
  }

  status(): NetworkStatus {
    const { router, targets } = this.#plan();
    return { hosts: hostRoutes(targets, (url) => router.route(url)), lastProbe: this.#last };
  }

  /** Probes every configured host; a call while a probe runs joins it. */
  run(): Promise<NetworkProbeRun> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #run(): Promise<NetworkProbeRun> {
    const { router, targets } = this.#plan();
    const started = performance.now();
    const at = this.#host.clock.now().toISOString();
    const hosts = await networkSelfCheck(targets, {
      hosts: this.#host.config.registries,
      proxy: router,
      credentials: this.#host.credentials(),
      logger: this.#host.logger,
      userAgent: this.#host.userAgent,
    });
    const run: NetworkProbeRun = {
      at,
      ms: Math.round(performance.now() - started),
      ok: hosts.every((h) => !h.failed),
      lines: hosts.map(formatHostProbe),
      hosts,
    };
    const failed = hosts.find((h) => h.failed);
    this.#host.logger.info(
      { hosts: hosts.length, ms: run.ms, failed: failed && `${failed.target}: ${failed.failed?.layer}` },
      'network self-check',
    );
    this.#last = run;
    return run;
  }

  /** POST /network/probe: JSON for scripts, a 303 back to the page for its form. */
  route(): RouteEntry {
    return {
      id: 'network-probe',
      prefix: PROBE_PATH,
      exact: true,
      handle: async (req, res) => {
        if (req.method !== 'POST') {
          sendJson(res, 405, { error: 'method not allowed' }, { allow: 'POST' });
          return true;
        }
        req.resume();
        let run: NetworkProbeRun;
        try {
          run = await this.run();
        } catch (err) {
          this.#host.logger.warn({ err }, 'network self-check failed to run');
          sendJson(res, 500, { error: `the network self-check could not run: ${(err as Error).message}` });
          return true;
        }
        const form = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
        if (form && /text\/html/.test(req.headers.accept ?? '')) {
          res.writeHead(303, { location: '/#network', 'content-length': 0, 'cache-control': 'no-store' });
          res.end();
          return true;
        }
        sendJson(res, 200, run);
        return true;
      },
    };
  }
}

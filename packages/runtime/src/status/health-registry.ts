// Readiness: 503 until start-up has finished and every HealthCheck is ready, 503 again from shutdown on.
import type { HealthCheck, Logger } from '@trivy-mirror/plugin-api';
import { describeError } from '@trivy-mirror/plugin-api';
import type { Phase } from '../process/lifecycle.js';

const CHECK_TIMEOUT_MS = 2000;

export interface Readiness {
  ready: boolean;
  phase: Phase;
  reasons: string[];
  components: Record<string, { ready: boolean; reason?: string } & Record<string, unknown>>;
}

export class HealthRegistry {
  #phase: Phase = 'created';
  #stopped: { promise: Promise<void>; resolve: () => void };
  #checks: () => HealthCheck[] = () => [];

  get phase(): Phase {
    return this.#phase;
  }

  set phase(phase: Phase) {
    this.#phase = phase;
    if (phase === 'stopped') this.#stopped.resolve();
  }

  /** Resolves once the phase is 'stopped' (no polling: an idle daemon has no timer of its own). */
  whenStopped(): Promise<void> {
    return this.#stopped.promise;
  }

  constructor(private readonly log: Logger) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#stopped = { promise, resolve };
  }

  setChecks(checks: () => HealthCheck[]): void {
    this.#checks = checks;
  }

  async readiness(): Promise<Readiness> {
    const reasons: string[] = [];
    const components: Readiness['components'] = {};
    if (this.phase !== 'running') reasons.push(`runtime is ${this.phase}`);
    let checks: HealthCheck[] = [];
    try {
      // a stopping runtime is not ready whatever its plugins say: leave them alone while they stop
      checks = this.phase === 'stopped' || this.phase === 'stopping' ? [] : this.#checks();
    } catch (err) {
      reasons.push(`health checks unavailable: ${describeError(err)}`);
    }
    await Promise.all(
      checks.map(async (c) => {
        let t: NodeJS.Timeout | undefined;
        try {
          const report = await Promise.race([
            Promise.resolve(c.check()),
            new Promise<never>((_, reject) => {
              t = setTimeout(
                () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
                CHECK_TIMEOUT_MS,
              );
            }),
          ]);
          components[c.id] = { ...(report.status ?? {}), ready: report.ready, reason: report.reason };
          if (!report.ready) reasons.push(`${c.id}: ${report.reason ?? 'not ready'}`);
        } catch (err) {
          this.log.warn({ err, check: c.id }, 'health check failed');
          components[c.id] = { ready: false, reason: describeError(err) };
          reasons.push(`${c.id}: check failed: ${describeError(err)}`);
        } finally {
          clearTimeout(t);
        }
      }),
    );
    return { ready: reasons.length === 0, phase: this.phase, reasons, components };
  }
}

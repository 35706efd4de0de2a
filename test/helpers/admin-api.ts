// The daemon's admin API as the e2e suites use it: wait for /readyz, trigger a job and wait for
// that run to finish (matched by run id in the JSON logs), read /status.
import assert from 'node:assert/strict';
import type { DaemonProcess } from './daemon-process.js';

/** Polls /readyz until 200; transient connection errors while starting are retried. */
export async function waitReady(daemon: DaemonProcess, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  let last = '';
  for (;;) {
    try {
      const res = await fetch(`${daemon.adminUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
      last = await res.text();
      if (res.status === 200) return;
    } catch (err) {
      last = String(err);
    }
    if (daemon.child.exitCode !== null) throw new Error(`daemon exited: ${daemon.stderr().slice(-2000)}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`daemon not ready after ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface JobFinished {
  runId: string;
  status: string;
  summary?: string;
  ms?: number;
}

/** POST /jobs/ID/run, then waits for its 'job finished' log line. */
export async function runJob(daemon: DaemonProcess, id: string, timeoutMs = 60_000): Promise<JobFinished> {
  const res = await fetch(`${daemon.adminUrl}/jobs/${id}/run`, {
    method: 'POST',
    headers: { 'x-trivy-mirror': 'test' },
  });
  assert.equal(res.status, 202, `POST /jobs/${id}/run`);
  const body = (await res.json()) as { runId: string };
  const line = await daemon.waitForLog((l) => l.msg === 'job finished' && l.runId === body.runId, timeoutMs);
  return line as unknown as JobFinished;
}

export async function getStatus(daemon: DaemonProcess): Promise<Record<string, unknown>> {
  const res = await fetch(`${daemon.adminUrl}/status`);
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, unknown>;
}

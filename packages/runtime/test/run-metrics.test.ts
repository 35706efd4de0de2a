// The job metrics the alerts read: failures in a row, last run by status, build info, no `job` label.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RuntimeMetrics } from '../src/index.js';

test('consecutive failures count up and reset on a good run; labels use job_id', async () => {
  const m = new RuntimeMetrics({ defaultMetrics: false, version: '9.9.9' });
  m.declareJob('oci-sync');
  const run = (status: string, endedAt: string) =>
    m.recordRun({ jobId: 'oci-sync', status, durationMs: 5, endedAt });
  let text = await m.text();
  assert.match(text, /trivy_mirror_job_consecutive_failures\{job_id="oci-sync"\} 0/);
  assert.match(text, /trivy_mirror_build_info\{version="9\.9\.9"\} 1/);
  run('failure', '2026-12-02T10:00:00Z');
  run('failure', '2026-12-02T11:00:00Z');
  text = await m.text();
  assert.match(text, /trivy_mirror_job_consecutive_failures\{job_id="oci-sync"\} 2/);
  assert.match(
    text,
    /trivy_mirror_job_last_run_timestamp_seconds\{job_id="oci-sync",status="failure"\} 1796209200/,
  );
  assert.doesNotMatch(text, /trivy_mirror_job_last_success_timestamp_seconds\{/);
  run('skipped', '2026-12-02T12:00:00Z');
  text = await m.text();
  assert.match(text, /trivy_mirror_job_consecutive_failures\{job_id="oci-sync"\} 0/);
  assert.match(text, /trivy_mirror_job_last_success_timestamp_seconds\{job_id="oci-sync"\} 1796212800/);
  assert.doesNotMatch(text, /[{,]job="/, 'no label named job: Prometheus owns it');
});

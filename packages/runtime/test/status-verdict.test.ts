// The one verdict (READY, SYNCING, STALE, FAILING) from a /status document: each state and its reasons,
// and that the page heads with the same word.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JobRunRecord } from '@trivy-mirror/plugin-api';
import { renderStatusPage } from '../src/status/status-page.js';
import type { JobStatus, StatusReport } from '../src/status/status-report.js';
import { statusVerdict, VERDICTS, verdictExitCode } from '../src/status/status-verdict.js';

const now = new Date('2026-12-02T12:00:00Z');
const digest = `sha256:${'a'.repeat(64)}`;

type Facts = Omit<StatusReport, 'verdict'>;

const artifact = (extra: Record<string, unknown> = {}) => ({
  stored: true,
  manifestDigest: digest,
  updatedAt: '2026-12-02T06:00:00Z',
  nextUpdate: '2026-12-02T18:00:00Z',
  lastSuccess: '2026-12-02T07:00:00Z',
  destinations: { 'registry.internal/mirror/trivy-db:2': { digest } },
  ...extra,
});

function facts(overrides: Partial<Facts> = {}, components: Record<string, unknown> = {}): Facts {
  return {
    version: '1.2.3',
    startedAt: '2026-12-02T10:00:00.000Z',
    uptimeSeconds: 7200,
    phase: 'running',
    ready: true,
    reasons: [],
    jobs: [job('oci-sync'), job('vexhub-mirror')],
    plugins: [],
    clients: [],
    components: {
      'oci-sync': { artifacts: { 'trivy-db:2': artifact() } },
      'cache-populator': {
        targets: [{ dir: '/var/cache/trivy', parts: { db: { populated: true, version: 2, stale: false } } }],
      },
      'vexhub-mirror': {
        repositories: {
          vexhub: { version: digest, updatedAt: '2026-12-02T08:00:00Z', updateIntervalSeconds: 86_400 },
        },
      },
      ...components,
    },
    ...overrides,
  };
}

function job(id: string, lastRun: Partial<JobRunRecord> = {}, extra: Partial<JobStatus> = {}): JobStatus {
  return {
    id,
    description: id,
    triggers: [],
    running: false,
    lastRun: {
      jobId: id,
      runId: '1',
      reason: 'schedule',
      status: 'success',
      startedAt: '2026-12-02T11:00:00Z',
      endedAt: '2026-12-02T11:01:00Z',
      ...lastRun,
    },
    ...extra,
  };
}

const failed = (id: string, message: string, code = 'SYNC_FAILED') =>
  job(id, { status: 'failure', error: { code, message } });

describe('status verdict', () => {
  test('READY: complete, fresh, every last run succeeded; a scheduled sync running keeps it READY', () => {
    const v = statusVerdict(facts(), now);
    assert.deepEqual(v, { state: 'ready', word: 'READY', meaning: VERDICTS.ready.meaning, reasons: [] });
    const running = facts({ jobs: [job('oci-sync', {}, { running: true }), job('vexhub-mirror')] });
    assert.equal(statusVerdict(running, now).state, 'ready');
    // its rows say SYNCING on the page, the headline stays READY
    const html = renderStatusPage({ ...running, verdict: statusVerdict(running, now) }, [], now);
    assert.match(html, /<title>READY · trivy-mirror<\/title>/);
    assert.match(
      html,
      /<tr class="row-syncing"><td><span class="st st-syncing">SYNCING<\/span><\/td><td class="nw"><b>trivy-db:2/,
    );
  });

  test('SYNCING: not ready yet, or something configured not held yet', () => {
    const starting = facts({ ready: false, reasons: ['oci-sync: not stored yet: trivy-java-db:1'] });
    const v = statusVerdict(starting, now);
    assert.equal(v.state, 'syncing');
    assert.deepEqual(v.reasons, ['not ready: oci-sync: not stored yet: trivy-java-db:1']);
    const notStored = facts({}, { 'oci-sync': { artifacts: { 'trivy-java-db:1': { stored: false } } } });
    assert.deepEqual(statusVerdict(notStored, now).reasons, ['trivy-java-db:1: not stored yet']);
    const cache = facts(
      {},
      { 'cache-populator': { targets: [{ dir: '/c', parts: { 'java-db': { populated: false } } }] } },
    );
    assert.deepEqual(statusVerdict(cache, now), {
      state: 'syncing',
      word: 'SYNCING',
      meaning: VERDICTS.syncing.meaning,
      reasons: ['cache /c java-db: not populated yet'],
    });
  });

  test('STALE: a DB past NextUpdate, a stale cache part, VEX older than twice its interval', () => {
    const later = new Date('2026-12-03T00:00:00Z');
    const v = statusVerdict(facts(), later);
    assert.equal(v.state, 'stale');
    assert.deepEqual(v.reasons, ['trivy-db:2: past its NextUpdate 2026-12-02 18:00 UTC (6h 00m ago)']);
    const cache = facts(
      {},
      { 'cache-populator': { targets: [{ dir: '/c', parts: { db: { populated: true, stale: true } } }] } },
    );
    assert.deepEqual(statusVerdict(cache, now).reasons, ['cache /c db: stale']);
    const vex = facts(
      {},
      {
        'vexhub-mirror': {
          repositories: {
            vexhub: { version: digest, updatedAt: '2026-11-20T00:00:00Z', updateIntervalSeconds: 86_400 },
          },
        },
      },
    );
    assert.equal(statusVerdict(vex, now).state, 'stale');
    assert.match(statusVerdict(vex, now).reasons[0]!, /^VEX vexhub: updated 12d 12h ago/);
  });

  test('FAILING: both sync jobs failing, though the store still serves (ready) — worst first', () => {
    const both = facts(
      {
        jobs: [
          failed(
            'oci-sync',
            'GET http://bob:hunter2@127.0.0.1:5000/v2/: connect ECONNREFUSED 127.0.0.1:5000',
          ),
          failed('vexhub-mirror', 'fetch failed\n\u001b[31mred\u001b[0m', 'VEX_FETCH_FAILED'),
        ],
      },
      {},
    );
    assert.equal(both.ready, true);
    const v = statusVerdict(both, new Date('2026-12-03T00:00:00Z'));
    assert.equal(v.state, 'failing');
    assert.equal(v.word, 'FAILING');
    assert.deepEqual(v.reasons, [
      'oci-sync: last run failed 12h 59m ago: SYNC_FAILED: GET http://[redacted]@127.0.0.1:5000/v2/: connect ECONNREFUSED 127.0.0.1:5000',
      'vexhub-mirror: last run failed 12h 59m ago: VEX_FETCH_FAILED: fetch failed \\u001b[31mred\\u001b[0m',
      'trivy-db:2: past its NextUpdate 2026-12-02 18:00 UTC (6h 00m ago)',
    ]);
    // a push that failed, a sync that failed since its last success, a VEX error
    const rows = facts(
      {},
      {
        'oci-sync': {
          artifacts: {
            'trivy-db:2': artifact({
              lastError: { code: 'SYNC_FAILED', message: 'HTTP 429', at: '2026-12-02T11:00:00Z' },
              destinations: { 'registry.internal/mirror/trivy-db:2': { lastError: 'denied: push' } },
            }),
          },
        },
        'vexhub-mirror': { repositories: { vexhub: { lastError: { message: 'HTTP 503' } } } },
      },
    );
    assert.deepEqual(statusVerdict(rows, now).reasons, [
      'trivy-db:2: sync failed: SYNC_FAILED: HTTP 429',
      'trivy-db:2 → registry.internal/mirror/trivy-db:2: push failed: denied: push',
      'VEX vexhub: HTTP 503',
    ]);
  });

  test('the page heads with the verdict of the document; each state has its own exit code', () => {
    for (const state of ['ready', 'failing'] as const) {
      const f = state === 'ready' ? facts() : facts({ jobs: [failed('oci-sync', 'boom')] });
      const verdict = statusVerdict(f, now);
      assert.equal(verdict.state, state);
      const html = renderStatusPage({ ...f, verdict }, [], now);
      assert.match(html, new RegExp(`<title>${VERDICTS[state].word} · trivy-mirror</title>`));
      assert.match(
        html,
        new RegExp(`<div class="overall"><span class="st st-${state}">${VERDICTS[state].word}<`),
      );
    }
    const codes = Object.values(VERDICTS).map((v) => v.exitCode);
    assert.deepEqual(codes, [0, 3, 4, 5]);
    assert.equal(verdictExitCode('failing'), 5);
    assert.equal(verdictExitCode('nonsense'), 5, 'an unknown verdict is no reason for exit 0');
  });
});

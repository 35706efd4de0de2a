// The status page rendering: states with words, escaping, no credentials, history charts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { esc, plainCause, scrub } from '../src/status/status-format.js';
import { renderStatusPage } from '../src/status/status-page.js';
import { StatusPage } from '../src/status/status-page-service.js';
import type { StatusReport } from '../src/status/status-report.js';
import { statusVerdict } from '../src/status/status-verdict.js';

const now = new Date('2026-12-02T12:00:00Z');

/** A /status document with its verdict at `at`, as buildStatus makes it. */
function report(
  overrides: Partial<StatusReport> = {},
  components: Record<string, unknown> = {},
  at = now,
): StatusReport {
  const facts = statusFacts(overrides, components);
  return { ...facts, verdict: statusVerdict(facts, at) };
}

function statusFacts(
  overrides: Partial<StatusReport>,
  components: Record<string, unknown>,
): Omit<StatusReport, 'verdict'> {
  return {
    version: '1.2.3',
    startedAt: '2026-12-02T10:00:00.000Z',
    uptimeSeconds: 7200,
    phase: 'running',
    ready: true,
    reasons: [],
    jobs: [],
    plugins: [],
    clients: [],
    components: {
      'oci-sync': {
        artifacts: {
          'trivy-db:2': {
            stored: true,
            manifestDigest: `sha256:${'a'.repeat(64)}`,
            updatedAt: '2026-12-02T06:00:00Z',
            nextUpdate: '2026-12-02T18:00:00Z',
            source: 'mirror.gcr.io/aquasec/trivy-db:2',
            destinations: { 'registry.internal/mirror/trivy-db:2': { digest: `sha256:${'a'.repeat(64)}` } },
          },
        },
      },
      ...components,
    },
    ...overrides,
  };
}

describe('status page', () => {
  test('with trust: the signer of each served version under its digest, or unsigned / not trusted', () => {
    const signed = (signature: Record<string, unknown>) =>
      report(
        {},
        {
          'oci-sync': {
            artifacts: {
              'trivy-db:2': { stored: true, manifestDigest: `sha256:${'a'.repeat(64)}`, signature },
            },
          },
        },
      );
    const by = { keyId: `sha256:${'b'.repeat(64)}`, keyIdShort: 'b'.repeat(16), keyFile: 'mirror.pub' };
    assert.match(
      renderStatusPage(signed(by), [], now),
      /<div class="dim">signed by b{16} \(mirror\.pub\)<\/div>/,
    );
    assert.match(
      renderStatusPage(signed({ failure: 'UNSIGNED' }), [], now),
      /<div class="dim">unsigned<\/div>/,
    );
    assert.match(
      renderStatusPage(signed({ failure: 'UNKNOWN_KEY', message: 'x' }), [], now),
      /<div class="dim">not trusted \(UNKNOWN_KEY\)<\/div>/,
    );
    assert.doesNotMatch(renderStatusPage(report(), [], now), /signed by|unsigned/);
  });

  test('a fresh mirror is READY; a DB past NextUpdate is STALE; a failed run is FAILING', () => {
    assert.equal(report().verdict.state, 'ready');
    const later = new Date('2026-12-03T00:00:00Z');
    assert.equal(report({}, {}, later).verdict.state, 'stale');
    const failed = report({
      jobs: [
        {
          id: 'oci-sync',
          description: 'sync',
          triggers: [],
          running: false,
          lastRun: {
            jobId: 'oci-sync',
            runId: '1',
            reason: 'schedule',
            status: 'failure',
            startedAt: now.toISOString(),
            error: { code: 'SYNC_FAILED', message: 'connect ECONNREFUSED 127.0.0.1:5000' },
          },
        },
      ],
    });
    assert.equal(failed.verdict.state, 'failing');
    const running = report({
      ready: false,
      reasons: ['oci-sync: not stored yet: trivy-java-db:1'],
      jobs: [{ id: 'oci-sync', description: 'sync', triggers: [], running: true }],
    });
    assert.equal(running.verdict.state, 'syncing');
    assert.match(renderStatusPage(running, [], now), /<title>SYNCING · trivy-mirror<\/title>/);
    const html = renderStatusPage(failed, [], now);
    assert.match(html, /FAILING/);
    assert.match(html, /the other side refused the connection/);
    assert.match(html, /<meta http-equiv="refresh" content="30">/);
    assert.doesNotMatch(html, /<script|https?:\/\/(?!registry)/i, 'no scripts, no external resources');
  });

  test('text is escaped and credentials are scrubbed', () => {
    const hostile = report({
      ready: false,
      reasons: ['<img src=x onerror=alert(1)> https://bob:hunter2@registry.internal/v2/'],
    });
    const html = renderStatusPage(hostile, [], now);
    assert.ok(!html.includes('<img src=x'));
    assert.ok(html.includes('&lt;img src=x'));
    assert.ok(!html.includes('hunter2'));
    assert.doesNotMatch(scrub('Authorization: Bearer abcdefghijkl'), /abcdefghijkl/);
    assert.equal(scrub('password=s3cret&x=1'), 'password=[redacted]&x=1');
    assert.equal(esc('a"b'), 'a&quot;b');
    assert.equal(plainCause({ message: 'HTTP 429 Too Many Requests' }), 'rate limited by the registry');
  });

  test('the clients section: versions, last seen, bytes per artifact, tags, warnings', () => {
    assert.match(renderStatusPage(report(), [], now), /no client has fetched an artifact/);
    const use = {
      requests: 4,
      bytes: 3 * 1024 * 1024,
      lastSeen: '2026-12-02T11:58:00Z',
      notModified: 0,
      failed: 0,
    };
    const html = renderStatusPage(
      report({
        clients: [
          {
            client: 'trivy',
            version: '0.74.0',
            firstSeen: '2026-12-02T10:00:00Z',
            lastSeen: '2026-12-02T11:58:00Z',
            requests: 9,
            bytes: 4 * 1024 * 1024,
            artifacts: {
              'trivy-checks': { ...use, tags: ['1'], bytes: 1024 * 1024 },
              'trivy-db': { ...use, tags: ['2'], failed: 1 },
            },
            warnings: ['trivy 0.74.0 pulled trivy-checks:1, which Trivy ≥ 0.69 no longer uses'],
          },
          {
            client: 'other',
            version: '',
            firstSeen: '2026-12-02T11:00:00Z',
            lastSeen: '2026-12-02T11:00:00Z',
            requests: 1,
            bytes: 0,
            artifacts: { vex: { ...use, requests: 1, bytes: 0, tags: [], notModified: 1 } },
            warnings: [],
          },
        ],
      }),
      [],
      now,
    );
    assert.match(html, /<h2>Clients since start<\/h2>/);
    assert.match(html, /<b>trivy<\/b><\/td><td>0\.74\.0<\/td>/);
    assert.match(
      html,
      /<b>trivy-db<\/b> <code>:2<\/code> · 4 req · 3\.0 MiB · <span class="bad">1 failed<\/span> · <span class="dim">2m ago/,
    );
    assert.match(html, /<b>vex<\/b> · 1 req · 0 B · 1× 304/);
    assert.match(
      html,
      /<tr class="row-stale"><td><\/td><td colspan="6"><div class="warn">⚠ trivy 0\.74\.0 pulled trivy-checks:1/,
    );
    assert.equal(report().verdict.state, 'ready', 'warnings leave the state alone');
  });

  test('the charts draw the recorded DB ages and bytes per day', () => {
    const history = [
      {
        t: '2026-11-30T12:00:00.000Z',
        job: 'oci-sync',
        status: 'success' as const,
        bytes: 2048,
        ages: { 'trivy-db:2': 3600 },
      },
      {
        t: '2026-12-01T12:00:00.000Z',
        job: 'oci-sync',
        status: 'failure' as const,
        ages: { 'trivy-db:2': 90_000 },
      },
    ];
    const html = renderStatusPage(report(), history, now);
    assert.match(html, /<svg[^>]*aria-label="DB age over the last 14 days"/);
    assert.match(html, /<path d="M[\d.]+,[\d.]+L[\d.]+,[\d.]+"/);
    assert.match(html, /2026-11-30: 2\.0 KiB, 0 failed/);
    assert.match(html, /2026-12-01: 0 B, 1 failed/);
  });
});

describe('status page routes', () => {
  const host = (mode: string, statusPage?: boolean) => {
    const listeners: ((r: unknown) => void)[] = [];
    return {
      listeners,
      host: {
        jobs: { onFinished: (l: (r: unknown) => void) => listeners.push(l) } as never,
        logger: { warn() {} } as never,
        mode,
        clock: { now: () => now },
        config: { stateDir: '/nonexistent', serve: { statusPage } },
        status: async () => report(),
      },
    };
  };

  test('the serving listener gets the page only with serve.statusPage; one-shot CLI runs record nothing', () => {
    assert.equal(new StatusPage(host('daemon').host).serveRoutes([]).length, 0);
    assert.deepEqual(
      new StatusPage(host('daemon', true).host).serveRoutes([]).map((r) => [r.id, r.prefix, r.exact]),
      [['status-page', '/', true]],
    );
    assert.equal(host('daemon').listeners.length, 0);
    const daemon = host('daemon');
    new StatusPage(daemon.host);
    assert.equal(daemon.listeners.length, 1);
    const cli = host('cli');
    new StatusPage(cli.host);
    assert.equal(cli.listeners.length, 0);
  });
});

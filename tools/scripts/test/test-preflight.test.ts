// The test runner's preflight: on a machine with none of the programs the suites run, every one is
// named with the apt-get line of its Debian package and the Go peers' install command.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
// @ts-expect-error: a plain .mjs script, no types
import { missingTools, preflightReport } from '../test-preflight.mjs';

interface Missing {
  apt: { name: string; pkg: string }[];
  go: string[];
}

test('a bare machine: every program is named, with the apt line and the Go peers command', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'tm-preflight-'));
  try {
    const nowhere = join(empty, 'nothing');
    const missing = missingTools({
      PATH: empty,
      XDG_CACHE_HOME: empty,
      DOCKER_REGISTRY_BIN: nowhere,
      NGINX_BIN: nowhere,
      SQUID_BIN: nowhere,
      CHROMIUM: nowhere,
    }) as Missing;
    assert.deepEqual(
      missing.apt.map((t) => t.name),
      [
        'docker-registry',
        'skopeo',
        'nginx',
        'squid',
        'python3',
        'promtool',
        'chromium',
        'openssl',
        'lintian',
        'systemd-analyze',
        'file',
        'strip',
        'man',
      ],
    );
    assert.deepEqual(missing.go, [
      'trivy v0.74.0',
      'trivy v0.68.2',
      'crane v0.22.1',
      'oras v1.3.6',
      'regctl v0.11.7',
      'regsync v0.11.7',
      'cosign v2.6.5',
    ]);
    const report = preflightReport(missing) as string;
    assert.match(
      report,
      /^ {4}apt-get install -y docker-registry skopeo nginx squid python3 prometheus chromium openssl lintian systemd file binutils man-db$/m,
    );
    assert.match(report, /^ {4}\. tools\/scripts\/go-peers\.sh && install_go_peers$/m);
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});

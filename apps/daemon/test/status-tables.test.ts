// `trivy-mirror status`'s network lines: one line when every host goes the same way, else a table of
// each host's route and why; the last self-check's lines under it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { componentTables, networkTable } from '../src/output/status-tables.js';

const host = (role: string, target: string, via: string, why: string) => ({ role, target, via, why });

describe('status: network', () => {
  test('one line for the usual case, a table when the hosts differ, the last probe under it', () => {
    assert.equal(networkTable(undefined), '');
    assert.equal(
      networkTable({ hosts: [host('source', 'ghcr.io', 'direct', 'no proxy configured')] }),
      '\nnetwork  the one host: direct (no proxy configured)\n',
    );
    const mixed = networkTable({
      hosts: [
        host(
          'source',
          'mirror.gcr.io',
          'http://alice:xxxxx@proxy.corp:3128',
          'environment variable HTTPS_PROXY',
        ),
        host(
          'destination',
          'registry.corp.example',
          'direct',
          'environment variable NO_PROXY matches this host',
        ),
      ],
      lastProbe: { at: new Date(Date.now() - 60_000).toISOString(), lines: ['✓ source mirror.gcr.io via …'] },
    });
    assert.match(mixed, /^\nnetwork \(route of each configured host\)\n {2}ROLE +HOST +ROUTE +WHY\n/);
    assert.match(
      mixed,
      /^ {2}source +mirror\.gcr\.io +http:\/\/alice:xxxxx@proxy\.corp:3128 +environment variable HTTPS_PROXY$/m,
    );
    assert.match(
      mixed,
      /^ {2}destination +registry\.corp\.example +direct +environment variable NO_PROXY matches this host$/m,
    );
    assert.match(mixed, /^ {2}last self-check 60s ago:\n {4}✓ source mirror\.gcr\.io via …\n$/m);
  });
});

describe('status: signers', () => {
  test('with trust: who signed each served version, under the artifacts table', () => {
    const out = componentTables({
      'oci-sync': {
        ready: true,
        artifacts: {
          'trivy-db:2': {
            stored: true,
            manifestDigest: `sha256:${'a'.repeat(64)}`,
            signature: { keyIdShort: '0123456789abcdef', keyFile: 'mirror.pub' },
          },
          'trivy-java-db:1': { stored: true, signature: { failure: 'UNSIGNED' } },
          'trivy-checks:1': {
            stored: true,
            signature: { failure: 'UNKNOWN_KEY', message: 'no trusted key' },
          },
          'trivy-checks:2': { stored: true },
        },
      },
    });
    assert.match(out, /^ {2}trivy-db:2: signed by 0123456789abcdef \(mirror\.pub\)$/m);
    assert.match(out, /^ {2}trivy-java-db:1: unsigned$/m);
    assert.match(out, /^ {2}trivy-checks:1: NOT TRUSTED \[UNKNOWN_KEY\] no trusted key$/m);
    assert.doesNotMatch(out, /trivy-checks:2: /);
  });
});

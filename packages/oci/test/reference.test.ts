import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatReference,
  isLoopbackHost,
  isOciError,
  OciErrorCode,
  parseReference,
  withDigest,
  withTag,
} from '@trivy-mirror/oci';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  test('normalises Docker Hub names', () => {
    assert.deepEqual(parseReference('alpine'), {
      kind: 'registry',
      registry: 'docker.io',
      repository: 'library/alpine',
      tag: undefined,
      digest: undefined,
    });
    const ns = parseReference('aquasec/trivy-db:2');
    assert.equal(ns.kind === 'registry' && ns.repository, 'aquasec/trivy-db');
    const r = parseReference('index.docker.io/aquasec/trivy-db:2');
    assert.equal(r.kind === 'registry' && r.registry, 'docker.io');
    const lib = parseReference('docker.io/alpine:3');
    assert.equal(lib.kind === 'registry' && lib.repository, 'library/alpine');
  });

  test('hosts, ports, tags and digests', () => {
    assert.deepEqual(parseReference('ghcr.io/aquasecurity/trivy-db:2'), {
      kind: 'registry',
      registry: 'ghcr.io',
      repository: 'aquasecurity/trivy-db',
      tag: '2',
      digest: undefined,
    });
    assert.deepEqual(parseReference(`127.0.0.1:5000/trivy/trivy-db:2@${D}`), {
      kind: 'registry',
      registry: '127.0.0.1:5000',
      repository: 'trivy/trivy-db',
      tag: '2',
      digest: D,
    });
    const local = parseReference('localhost/x');
    assert.equal(local.kind === 'registry' && local.registry, 'localhost');
    const v6 = parseReference('[::1]:5000/a/b');
    assert.equal(v6.kind === 'registry' && v6.registry, '[::1]:5000');
    assert.equal(parseReference('Registry.Example.COM:443/a').kind === 'registry', true);
  });

  test('oci-layout references', () => {
    assert.deepEqual(parseReference('oci-layout:/var/lib/x/trivy-db:2'), {
      kind: 'layout',
      path: '/var/lib/x/trivy-db',
      tag: '2',
      digest: undefined,
    });
    assert.deepEqual(parseReference(`oci-layout:./store@${D}`), {
      kind: 'layout',
      path: './store',
      tag: undefined,
      digest: D,
    });
    assert.deepEqual(parseReference('oci-layout:/tmp/a:b/c'), {
      kind: 'layout',
      path: '/tmp/a:b/c',
      tag: undefined,
      digest: undefined,
    });
  });

  test('rejects bad input with REFERENCE_INVALID naming the input', () => {
    for (const bad of [
      '',
      'UPPER/case',
      'host:5000/repo:bad tag',
      'ghcr.io/a@sha256:1234',
      `ghcr.io/a@md5:${'a'.repeat(32)}`,
      'ghcr.io/',
      'ghcr.io/a:',
      'ghcr.io/a//b',
      'host:99999/a',
      'oci-layout:',
      'oci-layout:/x@sha256:zz',
    ]) {
      assert.throws(
        () => parseReference(bad),
        (err: unknown) =>
          isOciError(err, OciErrorCode.REFERENCE_INVALID) && (bad === '' || err.message.includes(`"${bad}"`)),
        bad,
      );
    }
  });

  test('format round-trips; withTag/withDigest', () => {
    for (const s of [
      'ghcr.io/aquasecurity/trivy-db:2',
      `127.0.0.1:5000/a/b@${D}`,
      `127.0.0.1:5000/a/b:1@${D}`,
      'oci-layout:/x/y:2',
      `oci-layout:/x/y@${D}`,
      'docker.io/library/alpine',
    ]) {
      assert.equal(formatReference(parseReference(s)), s);
    }
    const r = parseReference('ghcr.io/a/b:1');
    assert.equal(formatReference(withDigest(r, D)), `ghcr.io/a/b@${D}`);
    assert.equal(formatReference(withTag(withDigest(r, D), '2')), 'ghcr.io/a/b:2');
  });

  test('isLoopbackHost', () => {
    for (const h of [
      '127.0.0.1',
      '127.0.0.1:5000',
      '127.1.2.3:80',
      'localhost',
      'localhost:8080',
      '[::1]:5000',
      '::1',
    ]) {
      assert.equal(isLoopbackHost(h), true, h);
    }
    for (const h of ['ghcr.io', '128.0.0.1', '10.0.0.1:5000', '127.0.0.1.evil.com', 'localhost.com']) {
      assert.equal(isLoopbackHost(h), false, h);
    }
  });
});

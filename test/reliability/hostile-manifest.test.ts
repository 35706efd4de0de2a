// Hostile manifests served by the upstream (through the proxy): wrong media types, two layers, huge
// declared sizes, bad digests, a title with `../`, oversized and non-JSON bodies, a lying digest header.
// Each sync is refused with a clear error; the store, the destination and the cache stay as they were.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Fault } from '@trivy-mirror/fixtures';
import { expectNoViolations } from './lib/hostile-case.js';
import { SuiteReport } from './lib/report.js';
import { World } from './lib/world.js';

type Manifest = {
  schemaVersion: number;
  mediaType?: string;
  artifactType?: string;
  config: { mediaType: string; digest: string; size: number };
  layers: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
  annotations?: Record<string, string>;
};

interface Case {
  name: string;
  /** The manifest body (from the good one) and optional header overrides. */
  make: (good: Manifest) => string | { body: Buffer | string; contentType?: string; digest?: string };
  /** What the job's error must say. */
  expect: RegExp;
}

const json = (m: unknown) => JSON.stringify(m);
const OCI = 'application/vnd.oci.image.manifest.v1+json';

const CASES: Case[] = [
  {
    name: 'a layer with a foreign media type',
    make: (g) =>
      json({ ...g, layers: [{ ...g.layers[0], mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }] }),
    expect: /layer media type must be/,
  },
  {
    name: 'two layers',
    make: (g) => json({ ...g, layers: [g.layers[0], { ...g.layers[0] }] }),
    expect: /exactly one layer/,
  },
  {
    name: 'no layers at all',
    make: (g) => json({ ...g, layers: [] }),
    expect: /exactly one layer/,
  },
  {
    name: 'a huge declared layer size',
    make: (g) => json({ ...g, layers: [{ ...g.layers[0], size: 2 ** 52 }] }),
    expect: /manifest declares 4503599627370496/,
  },
  {
    name: 'a negative layer size',
    make: (g) => json({ ...g, layers: [{ ...g.layers[0], size: -1 }] }),
    expect: /layer size/,
  },
  {
    name: 'a malformed layer digest',
    make: (g) => json({ ...g, layers: [{ ...g.layers[0], digest: 'sha256:../../../../etc/passwd' }] }),
    expect: /digest/,
  },
  {
    name: 'an md5 layer digest',
    make: (g) => json({ ...g, layers: [{ ...g.layers[0], digest: `md5:${'0'.repeat(32)}` }] }),
    expect: /digest/,
  },
  {
    name: 'a title with ../',
    make: (g) =>
      json({
        ...g,
        layers: [
          {
            ...g.layers[0],
            annotations: { 'org.opencontainers.image.title': '../../../../tmp/evil.tar.gz' },
          },
        ],
      }),
    expect: /plain file name/,
  },
  {
    name: 'an index instead of a manifest',
    make: (g) => ({
      body: json({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ mediaType: OCI, digest: g.layers[0].digest, size: 10 }],
      }),
      contentType: 'application/vnd.oci.image.index.v1+json',
    }),
    expect: /index|media type|not an image manifest|layers|unsupported/i,
  },
  {
    name: 'an HTML page with a manifest content type',
    make: () => '<html><body>Sign in to continue</body></html>',
    expect: /JSON|parse|manifest/i,
  },
  {
    name: 'a manifest larger than 4 MiB',
    make: (g) => json({ ...g, annotations: { padding: 'x'.repeat(5 * 1024 * 1024) } }),
    expect: /large|bytes|limit/i,
  },
  {
    name: 'a digest header that lies',
    make: (g) => ({
      body: json({ ...g, annotations: { ...g.annotations, changed: 'yes' } }),
      digest: `sha256:${'e'.repeat(64)}`,
    }),
    expect: /bytes hash to sha256:/,
  },
];

describe('reliability: hostile manifests are refused and change nothing', { timeout: 180_000 }, () => {
  const report = new SuiteReport('hostile-manifest');
  const world = new World({ dbBytes: 32 * 1024 });
  let good: Manifest;

  const snapshot = async () => {
    const layout = join(world.stateDir, 'oci', 'trivy-db');
    return {
      index: await readFile(join(layout, 'index.json'), 'utf8'),
      blobs: (await readdir(join(layout, 'blobs', 'sha256'))).sort().join(','),
      dest: await world.registryDigest(world.destination!.url, 'mirror/trivy-db', '2'),
      cache: await readlink(join(world.cacheDir, 'db')).catch(() => 'none'),
    };
  };

  before(async () => {
    await world.warmUp({ jobs: ['oci-sync'] });
    good = await upstreamManifest();
  });

  const upstreamManifest = async (): Promise<Manifest> => {
    const res = await fetch(`${world.upstream.url}/v2/aquasec/trivy-db/manifests/2`, {
      headers: { accept: `${OCI}, application/vnd.docker.distribution.manifest.v2+json` },
    });
    return (await res.json()) as Manifest;
  };

  after(async () => {
    report.print();
    await world.stop();
  });

  for (const c of CASES) {
    test(c.name, async () => {
      // a new upstream version whose layer the store does not hold yet, so nothing short-circuits
      await world.publish(['trivy-db']);
      good = await upstreamManifest();
      const made = c.make(good);
      const spec = typeof made === 'string' ? { body: made } : made;
      const body = Buffer.from(spec.body);
      const digest = spec.digest ?? `sha256:${createHash('sha256').update(body).digest('hex')}`;
      const fault: Fault = {
        kind: 'status',
        status: 200,
        headers: {
          'content-type': spec.contentType ?? good.mediaType ?? OCI,
          'docker-content-digest': digest,
        },
        body,
      };
      const before = await snapshot();
      const logStart = world.requireDaemon().logs().length;
      // only trivy-db:2 is hostile; the other artifacts pass through
      const job = await world.runJobWithFaults(
        { up: (req) => (/\/v2\/aquasec\/trivy-db\/manifests\//.test(req.url ?? '') ? fault : undefined) },
        'oci-sync',
      );
      await world.idle();
      report.runs++;
      report.faults++;
      assert.equal(job.status, 'failure', `sync accepted ${c.name}: ${job.summary}`);
      assert.match(job.summary ?? '', /trivy-db/, 'the error names the artifact');
      assert.match(job.summary ?? '', c.expect, `unclear error for ${c.name}: ${job.summary}`);
      const afterSnap = await snapshot();
      assert.deepEqual(afterSnap, before, `${c.name} changed the store, destination or cache`);
      await expectNoViolations(world, report, c.name, {
        logStart,
        registryStorage: [world.destination!.storageDir],
      });
      report.recoveries++;
    });
  }

  test('a good version afterwards is synced as usual', async () => {
    const job = await world.runJob('oci-sync');
    assert.notEqual(job.status, 'failure', job.summary);
    assert.ok(await world.converged());
  });
});

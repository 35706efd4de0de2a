// End to end: `trivy-mirror copy` (the built CLI) between real Debian docker-registry instances and
// OCI layouts, with skopeo as the independent reader; faults injected by the fault proxy.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import {
  type FaultFn,
  type GeneratedArtifact,
  generateArtifact,
  pushArtifact,
  type RunningRegistry,
  startFaultProxy,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { freePort, runCli } from './helpers/daemon-process.js';
import { fileDigest, headStatus, sha256, skopeoCopy, skopeoRaw, tempDir } from './helpers/oci-e2e.js';

const MiB = 1024 * 1024;

interface Pushed {
  /** Repository in the source registry, e.g. 'aquasec/trivy-db'. */
  repo: string;
  tag: string;
  artifact: GeneratedArtifact;
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

type CliResult = Awaited<ReturnType<typeof runCli>>;

/**
 * The CLI exited with 1 and (with `maxLines`) said why in at most that many stderr lines; the
 * message is shown as a diagnostic. Returns stderr.
 */
function expectFailure(t: TestContext, r: CliResult, maxLines?: number): string {
  assert.equal(r.code, 1, r.stdout);
  t.diagnostic(r.stderr.trim());
  if (maxLines !== undefined)
    assert.ok(r.stderr.trim().split('\n').length <= maxLines, `at most ${maxLines} line(s): ${r.stderr}`);
  return r.stderr;
}

describe('trivy-mirror copy (e2e)', { timeout: 180_000 }, () => {
  let src: RunningRegistry;
  let dst: RunningRegistry;
  let work: Awaited<ReturnType<typeof tempDir>>;
  /** The 200 MiB trivy-db and a java-db in the OCI 1.1 shape; a smaller pair in the legacy shape. */
  const sets: Record<'oci-1.1' | 'legacy', Pushed[]> = { 'oci-1.1': [], legacy: [] };
  /** A 16 MiB incompressible trivy-db for the fault cases. */
  let mid: Pushed;

  before(async () => {
    work = await tempDir('copy');
    [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
    const updatedAt = new Date('2026-11-01T00:00:00Z');
    const plan: Array<{ set: 'oci-1.1' | 'legacy'; kind: 'trivy-db' | 'trivy-java-db'; dbBytes: number }> = [
      { set: 'oci-1.1', kind: 'trivy-db', dbBytes: 200 * MiB },
      { set: 'oci-1.1', kind: 'trivy-java-db', dbBytes: 4 * MiB },
      { set: 'legacy', kind: 'trivy-db', dbBytes: 8 * MiB },
      { set: 'legacy', kind: 'trivy-java-db', dbBytes: 4 * MiB },
    ];
    for (const p of plan) {
      const artifact = await generateArtifact({
        kind: p.kind,
        shape: p.set,
        dbBytes: p.dbBytes,
        // incompressible: the 200 MiB db gives a ~190 MB layer
        compressionRatio: p.kind === 'trivy-db' ? 1.05 : undefined,
        seed: `copy-${p.set}`,
        updatedAt,
        workDir: join(work.dir, 'gen', p.set, p.kind),
      });
      const repo = `${p.set === 'legacy' ? 'legacy' : 'aquasec'}/${p.kind}`;
      const tag = p.kind === 'trivy-db' ? '2' : '1';
      await pushArtifact(src.url, repo, tag, artifact);
      sets[p.set].push({ repo, tag, artifact });
    }
    const midArtifact = await generateArtifact({
      kind: 'trivy-db',
      dbBytes: 16 * MiB,
      compressionRatio: 1.05,
      seed: 'copy-faults',
      updatedAt,
      workDir: join(work.dir, 'gen', 'mid'),
    });
    mid = { repo: 'faults/trivy-db', tag: '2', artifact: midArtifact };
    await pushArtifact(src.url, mid.repo, mid.tag, midArtifact);
  });

  after(async () => {
    await Promise.all([src?.stop(), dst?.stop()]);
    await work?.remove();
  });

  /**
   * `trivy-mirror copy` of the fault-case artifact (trivy-db:2) through a fault proxy in front of the
   * source registry, to DST/<dstRepo>/trivy-db:2. The proxy is stopped before this returns; its request
   * log comes back with the CLI's result.
   */
  async function copyThroughFaults(fault: FaultFn, dstRepo: string) {
    const proxy = await startFaultProxy({ upstream: src.url, fault });
    try {
      const r = await runCli([
        'copy',
        '--quiet',
        `${proxy.host}/${mid.repo}:2`,
        `${dst.host}/${dstRepo}/trivy-db:2`,
      ]);
      return { ...r, proxyLog: proxy.log };
    } finally {
      await proxy.stop();
    }
  }

  for (const shape of ['oci-1.1', 'legacy'] as const) {
    test(`registry -> registry keeps the manifest digest (${shape})`, async () => {
      if (shape === 'oci-1.1')
        assert.ok(sets[shape][0]!.artifact.layer.size > 180_000_000, 'a ~200 MB layer');
      for (const p of sets[shape]) {
        const from = `${src.host}/${p.repo}:${p.tag}`;
        const to = `${dst.host}/mirror/${p.repo}:${p.tag}`;
        const r = await runCli(['copy', '--quiet', from, to]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`digest ${p.artifact.manifestDigest}`));
        assert.match(r.stdout, /blobs: 2 copied, 0 mounted, 0 already there/);
        const upstream = await skopeoRaw(`docker://${from}`);
        const copied = await skopeoRaw(`docker://${to}`);
        assert.equal(upstream.digest, p.artifact.manifestDigest);
        assert.equal(copied.digest, upstream.digest, `${to} differs from ${from}`);
        assert.deepEqual(copied.bytes, p.artifact.manifestBytes);
      }
    });

    test(`registry -> oci-layout -> registry keeps the digest; skopeo reads the layout (${shape})`, async () => {
      for (const p of sets[shape]) {
        const from = `${src.host}/${p.repo}:${p.tag}`;
        const layoutDir = join(work.dir, 'layouts', shape, p.repo.split('/')[1] ?? p.repo);
        const viaLayout = `oci-layout:${layoutDir}:${p.tag}`;
        const to = `${dst.host}/via-layout/${p.repo}:${p.tag}`;

        const down = await runCli(['copy', '--quiet', from, viaLayout]);
        assert.equal(down.code, 0, down.stderr);
        const inLayout = await skopeoRaw(`oci:${layoutDir}:${p.tag}`);
        assert.equal(inLayout.digest, p.artifact.manifestDigest);

        // skopeo copies out of the layout byte-identically (dir: keeps each blob as a file)
        const out = join(work.dir, 'skopeo-out', shape, p.repo.replace('/', '-'));
        await mkdir(out, { recursive: true });
        await skopeoCopy(`oci:${layoutDir}:${p.tag}`, `dir:${out}`);
        assert.deepEqual(await readFile(join(out, 'manifest.json')), p.artifact.manifestBytes);
        const layerFile = join(out, p.artifact.layer.digest.slice('sha256:'.length));
        assert.equal(await fileDigest(layerFile), p.artifact.layer.digest);
        assert.deepEqual(
          (await readdir(out)).sort(),
          [
            p.artifact.configDescriptor.digest.slice(7),
            p.artifact.layer.digest.slice(7),
            'manifest.json',
            'version',
          ].sort(),
        );

        const up = await runCli(['copy', '--quiet', viaLayout, to]);
        assert.equal(up.code, 0, up.stderr);
        const copied = await skopeoRaw(`docker://${to}`);
        assert.equal(copied.digest, p.artifact.manifestDigest, `${to} differs from ${from}`);
      }
    });
  }

  test('a second copy skips every blob; a copy between repositories of one registry mounts', async () => {
    const big = sets['oci-1.1'][0]!;
    const from = `${src.host}/${big.repo}:${big.tag}`;
    const to = `${dst.host}/mirror/${big.repo}:${big.tag}`;
    // the first copy is idempotent to repeat (the shape test may not have run first)
    const first = await runCli(['copy', '--quiet', from, to]);
    assert.equal(first.code, 0, first.stderr);
    const again = await runCli(['copy', '--quiet', from, to]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /blobs: 0 copied, 0 mounted, 2 already there; 0 B/);

    const other = `${dst.host}/other/trivy-db:${big.tag}`;
    const t0 = Date.now();
    const mounted = await runCli(['copy', '--quiet', to, other]);
    assert.equal(mounted.code, 0, mounted.stderr);
    assert.match(mounted.stdout, /blobs: 0 copied, [12] mounted/);
    assert.ok(Date.now() - t0 < 15_000, 'a mount moves no bytes');
    assert.equal((await skopeoRaw(`docker://${other}`)).digest, big.artifact.manifestDigest);
  });

  test('a blob altered in flight fails the copy and leaves nothing behind', async (t) => {
    const layer = mid.artifact.layer.digest;
    const r = await copyThroughFaults(
      (req) =>
        req.method === 'GET' && req.url?.includes(`/blobs/${layer}`)
          ? { kind: 'flip-byte', offset: 1_000_000 }
          : undefined,
      'flip',
    );
    const stderr = expectFailure(t, r);
    assert.match(stderr, /digest mismatch/i);
    assert.ok(stderr.includes(layer.slice(7, 19)), `stderr names ${layer}: ${stderr}`);
    assert.equal(await headStatus(`${dst.url}/v2/flip/trivy-db/blobs/${layer}`), 404);
    assert.equal(await headStatus(`${dst.url}/v2/flip/trivy-db/manifests/2`), 404);
    assert.equal(
      await headStatus(`${dst.url}/v2/flip/trivy-db/manifests/${mid.artifact.manifestDigest}`),
      404,
    );
  });

  test('a connection dropped mid-blob resumes and the copy succeeds', async () => {
    const layer = mid.artifact.layer.digest;
    const ranges: (string | undefined)[] = [];
    let dropped = false;
    const r = await copyThroughFaults((req) => {
      if (req.method !== 'GET' || !req.url?.includes(`/blobs/${layer}`)) return undefined;
      ranges.push(req.headers.range);
      if (dropped) return undefined;
      dropped = true;
      return { kind: 'reset-after', bytes: 6 * MiB };
    }, 'resume');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(ranges.length >= 2, `the blob was fetched again: ${JSON.stringify(ranges)}`);
    assert.match(ranges[1] ?? '', /^bytes=[1-9]\d*-/, `the second GET resumes with a Range: ${ranges[1]}`);
    const copied = await skopeoRaw(`docker://${dst.host}/resume/trivy-db:2`);
    assert.equal(copied.digest, mid.artifact.manifestDigest);
  });

  test('429 with Retry-After: 1 is waited out', async () => {
    let limited = 0;
    /** When the 429 went out, and when the next request to the registry came in. */
    let limitedAt = 0;
    let nextAt = 0;
    const r = await copyThroughFaults((req) => {
      if (limited > 0 && nextAt === 0) nextAt = performance.now();
      if (limited > 0 || !req.url?.includes('/manifests/')) return undefined;
      limited++;
      limitedAt = performance.now();
      return {
        kind: 'status',
        status: 429,
        headers: { 'retry-after': '1', 'content-type': 'application/json' },
        body: JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }),
      };
    }, 'limited');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(limited, 1);
    const waited = nextAt - limitedAt;
    assert.ok(waited >= 1000, `the next request came ${Math.round(waited)} ms after the 429`);
    assert.ok(r.proxyLog.some((e) => e.status === 429));
    assert.equal(
      (await skopeoRaw(`docker://${dst.host}/limited/trivy-db:2`)).digest,
      mid.artifact.manifestDigest,
    );
  });

  test('a manifest over 4 MiB is refused with a clear message', async (t) => {
    const huge = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        annotations: { padding: 'x'.repeat(5 * MiB) },
      }),
    );
    const r = await copyThroughFaults(
      (req) =>
        req.url?.includes('/manifests/')
          ? {
              kind: 'status',
              status: 200,
              headers: {
                'content-type': 'application/vnd.oci.image.manifest.v1+json',
                'docker-content-digest': sha256(huge),
              },
              body: huge,
            }
          : undefined,
      'huge',
    );
    // a short message
    const stderr = expectFailure(t, r, 2);
    assert.match(stderr, /manifest/i);
    assert.match(stderr, /4 ?MiB|4194304|too large|exceeds/i);
    assert.equal(await headStatus(`${dst.url}/v2/huge/trivy-db/manifests/2`), 404);
  });

  test('bad input: unparsable reference, missing tag, unreachable host', async (t) => {
    // each refused with one line that names what is wrong
    const unparsable = expectFailure(t, await runCli(['copy', 'Not A Ref!!', `${dst.host}/x/trivy-db:2`]), 1);
    assert.ok(lastLine(unparsable).includes('Not A Ref!!'), unparsable);

    const missing = expectFailure(
      t,
      await runCli(['copy', '--quiet', `${src.host}/aquasec/trivy-db:nope`, `${dst.host}/x/trivy-db:2`]),
      1,
    );
    assert.match(missing, /aquasec\/trivy-db:nope/);
    assert.match(missing, /not found|unknown/i);

    const closed = await freePort();
    const t0 = Date.now();
    const unreachable = expectFailure(
      t,
      await runCli(['copy', '--quiet', `127.0.0.1:${closed}/aquasec/trivy-db:2`, `${dst.host}/x/trivy-db:2`]),
      1,
    );
    assert.ok(unreachable.includes(`127.0.0.1:${closed}`), unreachable);
    assert.match(unreachable, /refused|unreachable|connect/i);
    assert.ok(Date.now() - t0 < 30_000);
    assert.equal(await headStatus(`${dst.url}/v2/x/trivy-db/manifests/2`), 404);
  });
});

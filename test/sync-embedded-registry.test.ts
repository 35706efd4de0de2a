// End to end: the daemon's embedded read-only /v2/ on the oci-sync store: skopeo copies out of it
// byte-identically, readers by tag never see a 404 or a mixed version while a new one is synced, writes
// answer 405, and a CLI sync beside the running daemon is safe (set-up: helpers/sync-suite.ts).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateArtifact, pushArtifact } from '@trivy-mirror/fixtures';
import { eventually, runCli } from './helpers/daemon-process.js';
import { ARTIFACT_TAGS } from './helpers/mirror-config.js';
import { getBlobDigest, getManifest, sha256, skopeoCopy, skopeoRaw } from './helpers/oci-e2e.js';
import {
  type ServingDaemon,
  type SyncSuite,
  startServingDaemon,
  startSyncSuite,
} from './helpers/sync-suite.js';

const MiB = 1024 * 1024;

describe('trivy-mirror sync (e2e)', { timeout: 240_000 }, () => {
  let sync: SyncSuite;
  before(async () => (sync = await startSyncSuite('sync-embedded')));
  after(() => sync?.stop());

  describe('the embedded registry', () => {
    let served: ServingDaemon;
    before(async () => (served = await startServingDaemon(sync)));
    after(() => served?.daemon.stop());

    test('skopeo copies every artifact out of /v2/ byte-identically', async () => {
      const host = served.serveUrl.slice('http://'.length);
      for (const nameTag of ARTIFACT_TAGS) {
        const want = sync.seeded.digests[nameTag];
        assert.equal((await skopeoRaw(`docker://${host}/${nameTag}`)).digest, want, nameTag);
        const out = join(sync.work.dir, 'served', nameTag.replace(':', '-'));
        await mkdir(out, { recursive: true });
        await skopeoCopy(`docker://${host}/${nameTag}`, `dir:${out}`);
        const manifestBytes = await readFile(join(out, 'manifest.json'));
        assert.equal(sha256(manifestBytes), want);
        const layer = (JSON.parse(manifestBytes.toString()) as { layers: { digest: string }[] }).layers[0]!;
        assert.equal(sha256(await readFile(join(out, layer.digest.slice(7)))), layer.digest);
      }
    });

    test('while a new version is synced, readers by tag never see a 404 or a mixed version', async (t) => {
      const old = sync.seeded.digests['trivy-db:2']!;
      const next = await generateArtifact({
        kind: 'trivy-db',
        dbBytes: 16 * MiB,
        compressionRatio: 1.05,
        seed: 'sync-e2e-next',
        workDir: join(sync.work.dir, 'next'),
      });
      await pushArtifact(sync.upstream.url, 'aquasec/trivy-db', '2', next);
      // slow the new layer's download down so readers overlap the sync
      sync.counting.setFault((req) =>
        req.method === 'GET' && req.url?.includes(`/blobs/${next.layer.digest}`)
          ? { kind: 'delay', ms: 1500 }
          : undefined,
      );

      const seen: string[] = [];
      const problems: string[] = [];
      /** Manifest answers by tag with when the request was sent and when the answer was complete. */
      const byTag: { digest: string; sentAt: number; doneAt: number }[] = [];
      let stop = false;
      const reader = async () => {
        while (!stop) {
          const sentAt = performance.now();
          const m = await getManifest(served.serveUrl, 'trivy-db', '2');
          const doneAt = performance.now();
          if (m.status !== 200) {
            problems.push(`manifest by tag: ${m.status}`);
            continue;
          }
          const digest = sha256(m.bytes);
          byTag.push({ digest, sentAt, doneAt });
          if (m.digestHeader && m.digestHeader !== digest)
            problems.push(`header ${m.digestHeader} vs body ${digest}`);
          const layer = (JSON.parse(m.bytes.toString()) as { layers: { digest: string; size: number }[] })
            .layers[0]!;
          const b = await getBlobDigest(served.serveUrl, 'trivy-db', layer.digest);
          if (b.status !== 200) problems.push(`blob ${layer.digest} of ${digest}: ${b.status}`);
          else if (b.digest !== layer.digest || b.size !== layer.size)
            problems.push(`blob of ${digest} hashed to ${b.digest} (${b.size} bytes)`);
          seen.push(digest);
        }
      };
      const skopeoLoop = async () => {
        let i = 0;
        const host = served.serveUrl.slice('http://'.length);
        while (!stop) {
          const out = join(sync.work.dir, 'swap', String(i++));
          await mkdir(out, { recursive: true });
          try {
            await skopeoCopy(`docker://${host}/trivy-db:2`, `dir:${out}`);
            const bytes = await readFile(join(out, 'manifest.json'));
            const layer = (JSON.parse(bytes.toString()) as { layers: { digest: string }[] }).layers[0]!;
            const got = createHash('sha256')
              .update(await readFile(join(out, layer.digest.slice(7))))
              .digest('hex');
            if (`sha256:${got}` !== layer.digest) problems.push(`skopeo: layer of ${sha256(bytes)} differs`);
            seen.push(sha256(bytes));
          } catch (err) {
            problems.push(String(err));
          }
        }
      };
      const readers = [reader(), reader(), skopeoLoop()];
      try {
        await new Promise((r) => setTimeout(r, 300));
        const trigger = await fetch(`${served.adminUrl}/jobs/oci-sync/run`, {
          method: 'POST',
          headers: { 'x-trivy-mirror': 'test' },
        });
        assert.equal(trigger.status, 202);
        const { runId } = (await trigger.json()) as { runId: string };
        const run = await eventually(
          async () => {
            const res = await fetch(`${served.adminUrl}/jobs`);
            const body = (await res.json()) as {
              jobs: { id: string; lastRun?: { runId: string; status: string; summary?: string } }[];
            };
            const last = body.jobs.find((j) => j.id === 'oci-sync')?.lastRun;
            return last?.runId === runId ? last : undefined;
          },
          60_000,
          'the triggered oci-sync run',
        );
        assert.equal(run.status, 'success', JSON.stringify(run));
        // keep reading until the readers have downloaded the new version a few times
        await eventually(
          async () => seen.filter((d) => d === next.manifestDigest).length >= 3,
          30_000,
          'readers getting the new version',
        );
      } finally {
        stop = true;
        await Promise.all(readers);
        sync.counting.setFault(undefined);
      }
      t.diagnostic(
        `${seen.length} downloads: ${seen.filter((d) => d === old).length} old, ${seen.filter((d) => d === next.manifestDigest).length} new`,
      );
      assert.deepEqual(problems, []);
      assert.ok(
        seen.every((d) => d === old || d === next.manifestDigest),
        'only whole versions',
      );
      assert.ok(seen.includes(old), 'readers overlapped the old version');
      // the tag moves once: no request sent after a new answer was complete still gets the old one
      const firstNew = Math.min(...byTag.filter((m) => m.digest !== old).map((m) => m.doneAt));
      assert.ok(Number.isFinite(firstNew), 'readers saw the new version');
      assert.deepEqual(
        byTag.filter((m) => m.digest === old && m.sentAt > firstNew),
        [],
        'no old answer after the swap',
      );
      assert.equal(
        (await skopeoRaw(`docker://${served.serveUrl.slice(7)}/trivy-db:2`)).digest,
        next.manifestDigest,
      );
    });

    test('writes to /v2/ answer 405', async () => {
      const digest = sync.seeded.digests['trivy-java-db:1']!;
      const cases: [string, string][] = [
        ['PUT', '/v2/trivy-java-db/manifests/1'],
        ['POST', '/v2/trivy-java-db/blobs/uploads/'],
        ['PATCH', '/v2/trivy-java-db/blobs/uploads/x'],
        ['DELETE', `/v2/trivy-java-db/manifests/${digest}`],
        ['DELETE', `/v2/trivy-java-db/blobs/${digest}`],
      ];
      for (const [method, path] of cases) {
        const res = await fetch(`${served.serveUrl}${path}`, {
          method,
          body: method === 'DELETE' ? undefined : '{}',
          headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        });
        await res.arrayBuffer();
        assert.equal(res.status, 405, `${method} ${path}`);
      }
      assert.equal((await getManifest(served.serveUrl, 'trivy-java-db', '1')).status, 200, 'still served');
    });

    test('a CLI sync with the daemon config, while the daemon runs, is safe', async (t) => {
      const r = await runCli(['sync', '--config', served.daemonConfig, '--only', 'oci-sync']);
      t.diagnostic(`${r.stdout.trim()}\n${r.stderr.trim().slice(-2000)}`);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /4 artifact tags up to date/);
      const health = await fetch(`${served.adminUrl}/healthz`);
      assert.equal(health.status, 200, 'the daemon is still up');
      assert.equal((await getManifest(served.serveUrl, 'trivy-db', '2')).status, 200);
    });
  });
});

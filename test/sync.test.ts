// End to end: oci-sync through the built CLI and daemon against real Debian docker-registry instances:
// upstream → store → two destinations, idempotence, source fallback, artifact validation, the
// embedded read-only /v2/ under a concurrent version swap, and export/import for air gaps.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type GeneratedArtifact,
  generateArtifact,
  pushArtifact,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startFaultProxy,
  type FaultProxy,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { type DaemonProcess, eventually, freePort, runCli, startDaemon } from './helpers/daemon-process.js';
import { getBlobDigest, getManifest, sha256, skopeoCopy, skopeoRaw, tempDir } from './helpers/oci-e2e.js';
import { startVexServer, type VexServer } from './helpers/vex-server.js';

const MiB = 1024 * 1024;
/** 'NAME:TAG' of every artifact seedUpstream pushes. */
const ARTIFACT_TAGS = ['trivy-db:2', 'trivy-java-db:1', 'trivy-checks:1', 'trivy-checks:2'];

interface ConfigOptions {
  stateDir: string;
  sources: string[];
  destinations?: string[];
  artifacts?: { name: string; tags: string[] }[];
  adminPort?: number;
  servePort?: number;
  vexUrl?: string;
}

function configYaml(o: ConfigOptions): string {
  const lines = [
    `stateDir: ${o.stateDir}`,
    `admin: { listen: 127.0.0.1:${o.adminPort ?? 0} }`,
    'log: { level: info, format: json }',
  ];
  if (o.servePort) {
    lines.push(`serve: { listen: 127.0.0.1:${o.servePort}, publicUrl: http://127.0.0.1:${o.servePort} }`);
  }
  lines.push('plugins:', '  auth-providers: { dockerConfig: false }', '  oci-sync:');
  lines.push(`    sources: [${o.sources.join(', ')}]`);
  lines.push(`    destinations: [${(o.destinations ?? []).join(', ')}]`);
  if (o.artifacts) lines.push(`    artifacts: ${JSON.stringify(o.artifacts)}`);
  if (o.vexUrl) lines.push('  vexhub-mirror:', `    repositories: [{ name: vexhub, url: ${o.vexUrl} }]`);
  return `${lines.join('\n')}\n`;
}

async function writeConfig(path: string, o: ConfigOptions): Promise<string> {
  await mkdir(o.stateDir, { recursive: true });
  await writeFile(path, configYaml(o));
  return path;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Every file under `dir` (relative paths), for "nothing changed" checks. */
async function listTree(dir: string): Promise<string[]> {
  if (!(await exists(dir))) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length))
    .sort();
}

describe('trivy-mirror sync (e2e)', { timeout: 240_000 }, () => {
  let upstream: RunningRegistry;
  let dst1: RunningRegistry;
  let dst2: RunningRegistry;
  /** No-fault proxy in front of the upstream: counts requests; faults are set per test. */
  let counting: FaultProxy;
  let vex: VexServer;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let seeded: SeedUpstreamResult;
  let mainConfig: string;
  let mainState: string;

  before(async () => {
    work = await tempDir('sync');
    [upstream, dst1, dst2] = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
    counting = await startFaultProxy({ upstream: upstream.url });
    vex = await startVexServer();
    seeded = await seedUpstream({
      registryUrl: upstream.url,
      prefix: 'aquasec',
      workDir: join(work.dir, 'seed'),
      dbBytes: 2 * MiB,
      javaDbBytes: 2 * MiB,
      seed: 'sync-e2e',
      updatedAt: new Date(Math.floor(Date.now() / 1000) * 1000),
    });
    mainState = join(work.dir, 'state-main');
    mainConfig = await writeConfig(join(work.dir, 'main.yaml'), {
      stateDir: mainState,
      sources: [`${counting.host}/aquasec`],
      destinations: [`${dst1.host}/mirror`, `${dst2.host}/trivy/internal`],
      adminPort: await freePort(),
      vexUrl: `${vex.url}/vexhub`,
    });
  });

  after(async () => {
    await counting?.stop();
    await vex?.close();
    await Promise.all([upstream?.stop(), dst1?.stop(), dst2?.stop()]);
    await work?.remove();
  });

  test('sync copies every artifact into the store and two destinations byte-identically', async (t) => {
    const r = await runCli(['sync', '--config', mainConfig]);
    t.diagnostic(r.stdout.trim());
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const nameTag of ARTIFACT_TAGS) {
      const [name, tag] = nameTag.split(':') as [string, string];
      const want = seeded.digests[nameTag];
      // a summary line per artifact
      assert.match(
        r.stdout,
        new RegExp(`^\\s+${nameTag}\\s+updated\\s+${want?.slice(0, 19)}.*pushed to 2 destination`, 'm'),
        `summary line for ${nameTag}`,
      );
      const up = await skopeoRaw(`docker://${upstream.host}/aquasec/${nameTag}`);
      assert.equal(up.digest, want);
      for (const ref of [`${dst1.host}/mirror/${nameTag}`, `${dst2.host}/trivy/internal/${nameTag}`]) {
        const got = await skopeoRaw(`docker://${ref}`);
        assert.equal(got.digest, want, ref);
        assert.deepEqual(got.bytes, up.bytes);
      }
      const stored = await skopeoRaw(`oci:${join(mainState, 'oci', name)}:${tag}`);
      assert.equal(stored.digest, want, `store ${nameTag}`);
    }
    // the layer blob in the store is the upstream's, byte for byte
    const db = seeded.artifacts.find((a) => a.name === 'trivy-db')!;
    const blob = await readFile(
      join(mainState, 'oci', 'trivy-db', 'blobs', 'sha256', db.layerDigest.slice(7)),
    );
    assert.equal(sha256(blob), db.layerDigest);
  });

  test('a second sync moves no blob', async (t) => {
    const before = counting.log.length;
    const r = await runCli(['sync', '--config', mainConfig, '--only', 'oci-sync']);
    t.diagnostic(r.stdout.trim());
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /skipped\s+oci-sync/);
    assert.match(r.stdout, /4 artifact tags up to date/);
    for (const nameTag of ARTIFACT_TAGS) {
      assert.match(
        r.stdout,
        new RegExp(`^\\s+${nameTag}\\s+up to date\\s+sha256:.*0 B moved$`, 'm'),
        nameTag,
      );
    }
    const blobGets = counting.log
      .slice(before)
      .filter((e) => e.method === 'GET' && e.path.includes('/blobs/'));
    assert.deepEqual(blobGets, [], 'no upstream blob was downloaded');
    // nothing was pushed either: the destinations' upload endpoints were not used (HEADs only)
    assert.doesNotMatch(r.stdout, /\d+ pushed/);
  });

  test('a closed first source falls back to the second; a 429 source is waited out or skipped', async (t) => {
    const closed = await freePort();
    const stateA = join(work.dir, 'state-fallback');
    const cfgA = await writeConfig(join(work.dir, 'fallback.yaml'), {
      stateDir: stateA,
      sources: [`127.0.0.1:${closed}/aquasec`, `${upstream.host}/aquasec`],
      artifacts: [
        { name: 'trivy-db', tags: ['2'] },
        { name: 'trivy-checks', tags: ['2'] },
      ],
      adminPort: await freePort(),
    });
    const a = await runCli(['sync', '--config', cfgA, '--only', 'oci-sync']);
    t.diagnostic(a.stdout.trim());
    assert.equal(a.code, 0, `${a.stdout}\n${a.stderr}`);
    assert.match(a.stdout, new RegExp(`trivy-db:2\\s+updated .* from ${upstream.host}/aquasec/trivy-db:2`));
    assert.equal(
      (await skopeoRaw(`oci:${join(stateA, 'oci', 'trivy-db')}:2`)).digest,
      seeded.digests['trivy-db:2'],
    );
    assert.equal(
      (await skopeoRaw(`oci:${join(stateA, 'oci', 'trivy-checks')}:2`)).digest,
      seeded.digests['trivy-checks:2'],
    );

    let limited = 0;
    const tooMany = await startFaultProxy({
      upstream: upstream.url,
      fault: (req) => {
        if (!req.url?.includes('/manifests/') || limited >= 2) return undefined;
        limited++;
        return {
          kind: 'status',
          status: 429,
          headers: { 'retry-after': '1', 'content-type': 'application/json' },
          body: JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'rate limited' }] }),
        };
      },
    });
    try {
      const stateB = join(work.dir, 'state-429');
      const cfgB = await writeConfig(join(work.dir, 'limited.yaml'), {
        stateDir: stateB,
        sources: [`${tooMany.host}/aquasec`, `${upstream.host}/aquasec`],
        artifacts: [{ name: 'trivy-db', tags: ['2'] }],
        adminPort: await freePort(),
      });
      const b = await runCli(['sync', '--config', cfgB, '--only', 'oci-sync']);
      t.diagnostic(b.stdout.trim());
      assert.equal(b.code, 0, `${b.stdout}\n${b.stderr}`);
      assert.ok(limited >= 1, 'the rate-limited source was asked');
      assert.equal(
        (await skopeoRaw(`oci:${join(stateB, 'oci', 'trivy-db')}:2`)).digest,
        seeded.digests['trivy-db:2'],
      );
    } finally {
      await tooMany.stop();
    }
  });

  test('the legacy manifest shape syncs byte-identically too', async () => {
    const legacy = await seedUpstream({
      registryUrl: upstream.url,
      prefix: 'legacy',
      workDir: join(work.dir, 'seed-legacy'),
      dbBytes: 1 * MiB,
      javaDbBytes: 1 * MiB,
      shape: 'legacy',
      seed: 'sync-e2e-legacy',
    });
    const state = join(work.dir, 'state-legacy');
    const cfg = await writeConfig(join(work.dir, 'legacy.yaml'), {
      stateDir: state,
      sources: [`${upstream.host}/legacy`],
      destinations: [`${dst2.host}/legacy-mirror`],
      adminPort: await freePort(),
    });
    const r = await runCli(['sync', '--config', cfg, '--only', 'oci-sync']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const nameTag of ARTIFACT_TAGS) {
      const [name, tag] = nameTag.split(':') as [string, string];
      const want = legacy.digests[nameTag];
      const manifest = JSON.parse(
        (await skopeoRaw(`oci:${join(state, 'oci', name)}:${tag}`)).bytes.toString(),
      );
      assert.equal(manifest.artifactType, undefined, `${nameTag} is the legacy shape`);
      assert.equal((await skopeoRaw(`oci:${join(state, 'oci', name)}:${tag}`)).digest, want, nameTag);
      assert.equal((await skopeoRaw(`docker://${dst2.host}/legacy-mirror/${nameTag}`)).digest, want, nameTag);
    }
  });

  test('an invalid upstream artifact fails the sync, names the rule and stores nothing', async (t) => {
    // two layers, one of them of the wrong media type: Trivy would refuse it
    const good = seeded.artifacts.find((a) => a.name === 'trivy-db')!.artifact;
    const manifest = JSON.parse(good.manifestBytes.toString()) as { layers: Record<string, unknown>[] };
    manifest.layers.push({ ...manifest.layers[0], mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
    const bytes = Buffer.from(JSON.stringify(manifest));
    const bad: GeneratedArtifact = { ...good, manifestBytes: bytes, manifestDigest: sha256(bytes) };
    await pushArtifact(upstream.url, 'bad/trivy-db', '2', bad);
    // one layer, but the trivy-db layer media type under the java-db name
    const java = seeded.artifacts.find((a) => a.name === 'trivy-java-db')!.artifact;
    const javaManifest = JSON.parse(java.manifestBytes.toString()) as { layers: { mediaType: string }[] };
    javaManifest.layers[0]!.mediaType = 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip';
    const javaBytes = Buffer.from(JSON.stringify(javaManifest));
    await pushArtifact(upstream.url, 'bad/trivy-java-db', '1', {
      ...java,
      manifestBytes: javaBytes,
      manifestDigest: sha256(javaBytes),
    });

    const stateBad = join(work.dir, 'state-bad');
    const cfg = await writeConfig(join(work.dir, 'bad.yaml'), {
      stateDir: stateBad,
      sources: [`${upstream.host}/bad`],
      destinations: [`${dst1.host}/from-bad`],
      artifacts: [
        { name: 'trivy-db', tags: ['2'] },
        { name: 'trivy-java-db', tags: ['1'] },
      ],
      adminPort: await freePort(),
    });
    const r = await runCli(['sync', '--config', cfg, '--only', 'oci-sync']);
    t.diagnostic(`${r.stdout.trim()}\n${r.stderr.trim()}`);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /^failure\s+oci-sync/m);
    assert.match(r.stdout, /trivy-db:2.*exactly one layer required, found 2/);
    assert.match(
      r.stdout,
      /trivy-java-db:1.*layer media type must be application\/vnd\.aquasec\.trivy\.javadb\.layer\.v1\.tar\+gzip/,
    );
    assert.deepEqual(
      (await listTree(join(stateBad, 'oci'))).filter((f) => f.includes('blobs/')),
      [],
      'no blob in the store',
    );
    assert.equal((await getManifest(dst1.url, 'from-bad/trivy-db', '2')).status, 404);
    assert.equal((await getManifest(dst1.url, 'from-bad/trivy-java-db', '1')).status, 404);
  });

  describe('the embedded registry', () => {
    let daemon: DaemonProcess;
    let serveUrl: string;
    let adminUrl: string;
    let daemonConfig: string;

    before(async () => {
      const adminPort = await freePort();
      const servePort = await freePort();
      adminUrl = `http://127.0.0.1:${adminPort}`;
      serveUrl = `http://127.0.0.1:${servePort}`;
      daemonConfig = await writeConfig(join(work.dir, 'daemon.yaml'), {
        stateDir: mainState,
        sources: [`${counting.host}/aquasec`],
        adminPort,
        servePort,
        vexUrl: `${vex.url}/vexhub`,
      });
      daemon = await startDaemon({ args: ['run', '--config', daemonConfig], adminUrl });
      await eventually(
        async () => {
          const res = await fetch(`${adminUrl}/jobs`);
          const body = (await res.json()) as { jobs: { id: string; lastRun?: { status: string } }[] };
          return body.jobs.find((j) => j.id === 'oci-sync')?.lastRun?.status !== undefined;
        },
        30_000,
        'the start-up oci-sync run',
      );
    });

    after(async () => {
      await daemon?.stop();
    });

    test('skopeo copies every artifact out of /v2/ byte-identically', async () => {
      const host = serveUrl.slice('http://'.length);
      for (const nameTag of ARTIFACT_TAGS) {
        const want = seeded.digests[nameTag];
        assert.equal((await skopeoRaw(`docker://${host}/${nameTag}`)).digest, want, nameTag);
        const out = join(work.dir, 'served', nameTag.replace(':', '-'));
        await mkdir(out, { recursive: true });
        await skopeoCopy(`docker://${host}/${nameTag}`, `dir:${out}`);
        const manifestBytes = await readFile(join(out, 'manifest.json'));
        assert.equal(sha256(manifestBytes), want);
        const layer = (JSON.parse(manifestBytes.toString()) as { layers: { digest: string }[] }).layers[0]!;
        assert.equal(sha256(await readFile(join(out, layer.digest.slice(7)))), layer.digest);
      }
    });

    test('while a new version is synced, readers by tag never see a 404 or a mixed version', async (t) => {
      const old = seeded.digests['trivy-db:2']!;
      const next = await generateArtifact({
        kind: 'trivy-db',
        dbBytes: 16 * MiB,
        compressionRatio: 1.05,
        seed: 'sync-e2e-next',
        workDir: join(work.dir, 'next'),
      });
      await pushArtifact(upstream.url, 'aquasec/trivy-db', '2', next);
      // slow the new layer's download down so readers overlap the sync
      counting.setFault((req) =>
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
          const m = await getManifest(serveUrl, 'trivy-db', '2');
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
          const b = await getBlobDigest(serveUrl, 'trivy-db', layer.digest);
          if (b.status !== 200) problems.push(`blob ${layer.digest} of ${digest}: ${b.status}`);
          else if (b.digest !== layer.digest || b.size !== layer.size)
            problems.push(`blob of ${digest} hashed to ${b.digest} (${b.size} bytes)`);
          seen.push(digest);
        }
      };
      const skopeoLoop = async () => {
        let i = 0;
        const host = serveUrl.slice('http://'.length);
        while (!stop) {
          const out = join(work.dir, 'swap', String(i++));
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
        const trigger = await fetch(`${adminUrl}/jobs/oci-sync/run`, { method: 'POST' });
        assert.equal(trigger.status, 202);
        const { runId } = (await trigger.json()) as { runId: string };
        const run = await eventually(
          async () => {
            const res = await fetch(`${adminUrl}/jobs`);
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
        counting.setFault(undefined);
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
      assert.equal((await skopeoRaw(`docker://${serveUrl.slice(7)}/trivy-db:2`)).digest, next.manifestDigest);
    });

    test('writes to /v2/ answer 405', async () => {
      const digest = seeded.digests['trivy-java-db:1']!;
      const cases: [string, string][] = [
        ['PUT', '/v2/trivy-java-db/manifests/1'],
        ['POST', '/v2/trivy-java-db/blobs/uploads/'],
        ['PATCH', '/v2/trivy-java-db/blobs/uploads/x'],
        ['DELETE', `/v2/trivy-java-db/manifests/${digest}`],
        ['DELETE', `/v2/trivy-java-db/blobs/${digest}`],
      ];
      for (const [method, path] of cases) {
        const res = await fetch(`${serveUrl}${path}`, {
          method,
          body: method === 'DELETE' ? undefined : '{}',
          headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        });
        await res.arrayBuffer();
        assert.equal(res.status, 405, `${method} ${path}`);
      }
      assert.equal((await getManifest(serveUrl, 'trivy-java-db', '1')).status, 200, 'still served');
    });

    test('a CLI sync with the daemon config, while the daemon runs, is safe', async (t) => {
      const r = await runCli(['sync', '--config', daemonConfig, '--only', 'oci-sync']);
      t.diagnostic(`${r.stdout.trim()}\n${r.stderr.trim().slice(-2000)}`);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /4 artifact tags up to date/);
      const health = await fetch(`${adminUrl}/healthz`);
      assert.equal(health.status, 200, 'the daemon is still up');
      assert.equal((await getManifest(serveUrl, 'trivy-db', '2')).status, 200);
    });
  });

  test('export then import gives the same digests; a tampered export is refused and changes nothing', async (t) => {
    const out = join(work.dir, 'export');
    const ex = await runCli(['export', '--out', out, '--config', mainConfig]);
    assert.equal(ex.code, 0, ex.stderr);

    const otherState = join(work.dir, 'state-imported');
    const otherCfg = await writeConfig(join(work.dir, 'imported.yaml'), {
      stateDir: otherState,
      sources: [`${upstream.host}/aquasec`],
      adminPort: await freePort(),
    });
    const im = await runCli(['import', out, '--config', otherCfg]);
    assert.equal(im.code, 0, im.stderr);
    const repos = (await readdir(join(mainState, 'oci'))).filter((n) => !n.startsWith('.')).sort();
    assert.deepEqual(
      repos.filter((r) => r.startsWith('trivy-')),
      ['trivy-checks', 'trivy-db', 'trivy-java-db'],
    );
    // import takes the tagged (current) versions; the connected side's history stays there
    type Entry = { digest: string; annotations?: Record<string, string> };
    const taggedDigests = async (state: string, repo: string) =>
      (JSON.parse(await readFile(join(state, 'oci', repo, 'index.json'), 'utf8')).manifests as Entry[])
        .filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== undefined)
        .map((m) => m.digest)
        .sort();
    for (const repo of repos) {
      assert.deepEqual(await taggedDigests(otherState, repo), await taggedDigests(mainState, repo), repo);
    }
    for (const nameTag of ARTIFACT_TAGS) {
      const [name, tag] = nameTag.split(':') as [string, string];
      const want = (await skopeoRaw(`oci:${join(mainState, 'oci', name)}:${tag}`)).digest;
      assert.equal((await skopeoRaw(`oci:${join(otherState, 'oci', name)}:${tag}`)).digest, want, nameTag);
    }

    // flip one byte of the current trivy-db layer in the export
    const exported = join(out, 'trivy-db');
    const index = JSON.parse(await readFile(join(exported, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    const tagged = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === '2')!;
    const dbManifest = JSON.parse(
      await readFile(join(exported, 'blobs', 'sha256', tagged.digest.slice(7)), 'utf8'),
    ) as { layers: { digest: string }[] };
    const layerDigest = dbManifest.layers[0]!.digest;
    const blobPath = join(exported, 'blobs', 'sha256', layerDigest.slice(7));
    const blob = await readFile(blobPath);
    blob[blob.length >> 1] = (blob[blob.length >> 1] ?? 0) ^ 0xff;
    await writeFile(blobPath, blob);

    const emptyState = join(work.dir, 'state-tampered');
    const emptyCfg = await writeConfig(join(work.dir, 'tampered.yaml'), {
      stateDir: emptyState,
      sources: [`${upstream.host}/aquasec`],
      adminPort: await freePort(),
    });
    const beforeTree = await listTree(emptyState);
    const bad = await runCli(['import', out, '--config', emptyCfg]);
    t.diagnostic(bad.stderr.trim());
    assert.equal(bad.code, 1, bad.stdout);
    assert.ok(bad.stderr.includes(layerDigest), `names the blob: ${bad.stderr}`);
    assert.match(bad.stderr, /digest|hash/i);
    assert.deepEqual(await listTree(emptyState), beforeTree, 'the empty store stays empty');
  });
});

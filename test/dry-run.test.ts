// End to end: `--dry-run` of sync, copy and populate through the built CLI against Debian
// docker-registry instances: each reports what would move with byte counts that match what the real
// run then moves, and writes nothing (store, cache dir, layout and registries stay as they were).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type GeneratedArtifact,
  generateArtifact,
  pushArtifact,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { runCli } from './helpers/daemon-process.js';
import { getManifest, sha256, tempDir } from './helpers/oci-e2e.js';
import { pathExists as exists, treeSnapshot } from './helpers/tree-snapshot.js';

const KiB = 1024;

interface Plan {
  artifact: string;
  tag: string;
  changed: boolean;
  downloadBytes: number;
  destinations: { reference: string; upToDate: boolean; bytes: number }[];
}
interface SyncRecord {
  jobId: string;
  details?: { artifacts?: { artifact: string; tag: string; bytesDownloaded: number; bytesPushed: number }[] };
}

async function catalog(registry: RunningRegistry): Promise<string[]> {
  const res = await fetch(`${registry.url}/v2/_catalog`);
  return ((await res.json()) as { repositories: string[] }).repositories;
}

describe('--dry-run of sync, copy and populate (e2e)', { timeout: 180_000 }, () => {
  let upstream: RunningRegistry;
  let dest: RunningRegistry;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let seeded: SeedUpstreamResult;
  let v2: GeneratedArtifact;
  let cfg: string;
  let state: string;
  let cacheDir: string;

  before(async () => {
    work = await tempDir('dry-run');
    [upstream, dest] = await Promise.all([startRegistry(), startRegistry()]);
    seeded = await seedUpstream({
      registryUrl: upstream.url,
      workDir: join(work.dir, 'seed'),
      dbBytes: 256 * KiB,
      javaDbBytes: 256 * KiB,
      seed: 'dry-run-v1',
    });
    state = join(work.dir, 'state');
    cacheDir = join(work.dir, 'cache');
    cfg = join(work.dir, 'config.yaml');
    await writeFile(
      cfg,
      [
        `stateDir: ${state}`,
        'plugins:',
        '  auth-providers: { dockerConfig: false }',
        '  oci-sync:',
        `    sources: [${upstream.host}/aquasec]`,
        `    destinations: [${dest.host}/mirror]`,
        // one tag at a time: tags that share a blob then move it once, as the plan counts it
        '    concurrency: 1',
        '  cache-populator:',
        `    targets: [{ dir: ${cacheDir}, include: [db, java-db, checks] }]`,
        '',
      ].join('\n'),
    );
    v2 = await generateArtifact({
      kind: 'trivy-db',
      dbBytes: 300 * KiB,
      seed: 'dry-run-v2',
      workDir: work.dir,
    });
  });

  after(async () => {
    await Promise.all([upstream?.stop(), dest?.stop()]);
    await work?.remove();
  });

  test('sync --dry-run on an empty state plans every byte the real sync then moves, writing nothing', async () => {
    const dry = await runCli(['sync', '--config', cfg, '--only', 'oci-sync', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    const plan = JSON.parse(dry.stdout) as { dryRun: boolean; artifacts: Plan[]; downloadBytes: number };
    assert.equal(plan.dryRun, true);
    assert.ok(plan.artifacts.every((p) => p.changed));
    assert.equal(await exists(state), false, 'no state dir created');
    assert.deepEqual(await catalog(dest), [], 'nothing pushed');

    const human = await runCli(['sync', '--config', cfg, '--dry-run']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^trivy-db:2 +would fetch +sha256:[0-9a-f]{12} from .+: 2 blob\(s\), /m);
    assert.match(
      human.stdout,
      new RegExp(`^  -> ${dest.host}/mirror/trivy-db:2: would push 2 blob\\(s\\)`, 'm'),
    );
    assert.match(
      human.stdout,
      new RegExp(`^cache dir ${cacheDir}: would be populated from the 4 new version`, 'm'),
    );
    assert.match(human.stdout, /^dry run: would download .+ and push .+; nothing was changed$/m);
    assert.equal(await exists(cacheDir), false, 'no cache dir created');

    const real = await runCli(['sync', '--config', cfg, '--only', 'oci-sync', '--json']);
    assert.equal(real.code, 0, real.stdout + real.stderr);
    const moved = (JSON.parse(real.stdout) as SyncRecord[])[0]!.details!.artifacts!;
    for (const p of plan.artifacts) {
      const m = moved.find((a) => a.artifact === p.artifact && a.tag === p.tag)!;
      assert.equal(p.downloadBytes, m.bytesDownloaded, `${p.artifact}:${p.tag} downloaded bytes`);
      assert.equal(p.destinations[0]!.bytes, m.bytesPushed, `${p.artifact}:${p.tag} pushed bytes`);
    }
  });

  test('sync --dry-run after an upstream update: only the new layer, store and destination unchanged', async () => {
    await pushArtifact(upstream.url, 'aquasec/trivy-db', '2', v2);
    const storeBefore = await treeSnapshot(state);
    const r = await runCli(['sync', '--config', cfg, '--dry-run', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const plans = (JSON.parse(r.stdout) as { artifacts: Plan[] }).artifacts;
    const db = plans.find((p) => p.artifact === 'trivy-db')!;
    assert.equal(db.changed, true);
    // the empty config is in the store already: only the new layer moves
    assert.equal(db.downloadBytes, v2.layer.size);
    assert.equal(db.destinations[0]!.bytes, v2.layer.size);
    assert.ok(
      plans
        .filter((p) => p !== db)
        .every((p) => !p.changed && p.downloadBytes === 0 && p.destinations[0]!.upToDate),
    );
    assert.deepEqual(await treeSnapshot(state), storeBefore, 'store unchanged');
    const pushed = await getManifest(dest.url, 'mirror/trivy-db', '2');
    assert.equal(
      sha256(pushed.bytes),
      seeded.digests['trivy-db:2'],
      'destination still holds the old version',
    );
  });

  test('copy --dry-run: blobs and bytes that would move; no layout created, no registry changed', async () => {
    const layoutDir = join(work.dir, 'copy-layout');
    const src = `${upstream.host}/aquasec/trivy-db:2`;
    const r = await runCli(['copy', src, `oci-layout:${layoutDir}:2`, '--dry-run']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`digest ${v2.manifestDigest}`));
    assert.match(r.stdout, /blobs: 2 of 2 would be copied \(/);
    assert.match(r.stdout, /nothing was changed/);
    assert.equal(await exists(layoutDir), false, 'layout not created');

    const toRegistry = await runCli(['copy', src, `${dest.host}/other/trivy-db:2`, '--dry-run']);
    assert.equal(toRegistry.code, 0, toRegistry.stderr);
    assert.ok(!(await catalog(dest)).includes('other/trivy-db'), 'destination registry unchanged');

    const real = await runCli(['copy', src, `oci-layout:${layoutDir}:2`, '-q']);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /blobs: 2 copied, 0 mounted, 0 already there/);
    const again = await runCli(['copy', src, `oci-layout:${layoutDir}:2`, '--dry-run']);
    assert.match(
      again.stdout,
      /destination already has this manifest; blobs: 0 of 2 would be copied \(0 B of /,
    );
  });

  test('populate --dry-run lists the parts and layer bytes it would write, and writes nothing', async () => {
    const store = join(state, 'oci');
    const fresh = join(work.dir, 'fresh-cache');
    const r = await runCli(['populate', '--cache-dir', fresh, '--from-store', store, '--dry-run', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as {
      dryRun: boolean;
      parts: { key: string; status: string; bytes: number }[];
    };
    assert.equal(out.dryRun, true);
    const layerSize = (name: string, tag: string) =>
      seeded.artifacts.find((a) => a.name === name && a.tag === tag)!.layerSize;
    assert.deepEqual(
      out.parts.map((p) => [p.key, p.status, p.bytes]),
      [
        ['db', 'planned', layerSize('trivy-db', '2')],
        ['java-db', 'planned', layerSize('trivy-java-db', '1')],
        ['checks', 'planned', layerSize('trivy-checks', '2')],
      ],
    );
    assert.equal(await exists(fresh), false, 'cache dir not created');

    // a populated cache dir: nothing to do, and nothing touched
    const filled = await runCli(['populate', '--cache-dir', fresh, '--from-store', store]);
    assert.equal(filled.code, 0, filled.stdout + filled.stderr);
    const before = await treeSnapshot(fresh);
    const again = await runCli(['populate', '--cache-dir', fresh, '--from-store', store, '--dry-run']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^unchanged +db /m);
    assert.match(again.stdout, /^dry run: 0 part\(s\) would be written/m);
    assert.deepEqual(await treeSnapshot(fresh), before, 'cache dir unchanged');
  });
});

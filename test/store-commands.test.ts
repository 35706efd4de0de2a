// End to end: `trivy-mirror store ls|verify|prune` through the built CLI on a real store written by
// `sync` from a Debian docker-registry upstream (two versions of trivy-db:2, so there is history).
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
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
import { sha256, skopeoRaw, tempDir } from './helpers/oci-e2e.js';
import { pathExists as exists, treeSnapshot } from './helpers/tree-snapshot.js';

const KiB = 1024;

interface LsRow {
  repository: string;
  tag?: string;
  current: boolean;
  digest: string;
  size: number;
  storedAt?: string;
}

function config(stateDir: string, upstream: string, extra = ''): string {
  return [
    `stateDir: ${stateDir}`,
    'plugins:',
    '  auth-providers: { dockerConfig: false }',
    '  oci-sync:',
    `    sources: [${upstream}/aquasec]`,
    '    blobGraceMinutes: 0',
    extra,
    '',
  ].join('\n');
}

describe('trivy-mirror store (e2e)', { timeout: 180_000 }, () => {
  let upstream: RunningRegistry;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let seeded: SeedUpstreamResult;
  let v2: GeneratedArtifact;
  let cfg: string;
  let store: string;

  const blob = (repo: string, digest: string) => join(store, repo, 'blobs', 'sha256', digest.slice(7));

  before(async () => {
    work = await tempDir('store');
    upstream = await startRegistry();
    seeded = await seedUpstream({
      registryUrl: upstream.url,
      workDir: join(work.dir, 'seed'),
      dbBytes: 256 * KiB,
      javaDbBytes: 256 * KiB,
      seed: 'store-v1',
    });
    const state = join(work.dir, 'state');
    store = join(state, 'oci');
    cfg = join(work.dir, 'config.yaml');
    await writeFile(cfg, config(state, upstream.host));
    const first = await runCli(['sync', '--config', cfg, '--only', 'oci-sync']);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    // a second trivy-db version upstream: the first becomes history in the store
    v2 = await generateArtifact({
      kind: 'trivy-db',
      dbBytes: 300 * KiB,
      seed: 'store-v2',
      workDir: join(work.dir, 'seed'),
    });
    await pushArtifact(upstream.url, 'aquasec/trivy-db', '2', v2);
    const second = await runCli(['sync', '--config', cfg, '--only', 'oci-sync']);
    assert.equal(second.code, 0, second.stdout + second.stderr);
  });

  after(async () => {
    await upstream?.stop();
    await work?.remove();
  });

  test('ls lists every version per repository and tag, newest first, with size and the current one', async () => {
    const r = await runCli(['store', 'ls', '--store', store, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as LsRow[];
    const db = rows.filter((row) => row.repository === 'trivy-db');
    assert.deepEqual(
      db.map((row) => [row.tag, row.current, row.digest]),
      [
        ['2', true, v2.manifestDigest],
        ['2', false, seeded.digests['trivy-db:2']],
      ],
    );
    // size = manifest + config + layer
    assert.equal(db[0]!.size, v2.manifestBytes.length + v2.configDescriptor.size + v2.layer.size);
    assert.ok(db.every((row) => row.storedAt && Date.now() - Date.parse(row.storedAt) < 120_000));
    const checks = rows.filter((row) => row.repository === 'trivy-checks').map((row) => row.tag);
    assert.deepEqual(checks, ['1', '2']);

    const human = await runCli(['store', 'ls', '--store', store]);
    assert.equal(human.code, 0, human.stderr);
    const lines = human.stdout.trim().split('\n');
    assert.match(lines[0]!, /^REPOSITORY +TAG +CURRENT +DIGEST +SIZE +STORED$/);
    const current = lines.find((l) => l.includes(v2.manifestDigest.slice(0, 19)));
    assert.match(current ?? '', /^trivy-db +2 +current +sha256:[0-9a-f]{12} +\S+ \S+ +\d+s ago$/);
    const old = lines.find((l) => l.includes(seeded.digests['trivy-db:2']!.slice(0, 19)));
    assert.match(old ?? '', /^trivy-db +2 {2,}sha256:/, 'the old version is not marked current');
    const full = await runCli(['store', 'ls', '--store', store, '--no-trunc']);
    assert.ok(full.stdout.includes(v2.manifestDigest), full.stdout);
  });

  test('ls names the store it defaulted to, and a missing store is an error naming its path', async () => {
    const r = await runCli(['store', 'ls', '--config', cfg]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.includes(`using store ${store} (stateDir of ${cfg})`), r.stderr);
    const missing = join(work.dir, 'no-such-store');
    for (const sub of ['ls', 'verify', 'prune']) {
      const m = await runCli(['store', sub, '--store', missing]);
      assert.equal(m.code, 1, `${sub}: ${m.stdout}`);
      assert.ok(m.stderr.includes(`store ${missing} does not exist`), m.stderr);
      assert.equal(await exists(missing), false, `${sub} created nothing`);
    }
  });

  test('verify: a sound store exits 0; each fault names its file and exits 1', async () => {
    const ok = await runCli(['store', 'verify', '--store', store]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^ok: .+: 3 layout\(s\), 5 manifest\(s\), \d+ blob\(s\) \(.+\), all sound$/m);

    const bad = join(work.dir, 'bad-store');
    await cp(store, bad, { recursive: true });
    const badBlob = (repo: string, digest: string) => join(bad, repo, 'blobs', 'sha256', digest.slice(7));
    // 1. a layer whose bytes changed (same size)
    const layer = badBlob('trivy-db', v2.layer.digest);
    const bytes = await readFile(layer);
    bytes[100] = (bytes[100]! + 1) % 256;
    await writeFile(layer, bytes);
    // 2. a layer gone
    const java = seeded.artifacts.find((a) => a.name === 'trivy-java-db')!;
    await rm(badBlob('trivy-java-db', java.layerDigest));
    // 3. an index.json that is not JSON
    await writeFile(join(bad, 'trivy-checks', 'index.json'), '{"schemaVersion": 2, "manifests": [');
    // 4. a manifest (correctly named by its digest) that does not parse
    const junk = Buffer.from('this is not a manifest');
    const junkDigest = sha256(junk);
    await writeFile(badBlob('trivy-db', junkDigest), junk);
    const index = JSON.parse(await readFile(join(bad, 'trivy-db', 'index.json'), 'utf8'));
    index.manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: junkDigest,
      size: junk.length,
    });
    await writeFile(join(bad, 'trivy-db', 'index.json'), JSON.stringify(index));

    const r = await runCli(['store', 'verify', '--store', bad]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const faults = r.stdout.split('\n').filter((l) => l.startsWith('FAULT '));
    const fault = (file: string) => faults.find((l) => l.startsWith(`FAULT ${file}: `)) ?? '';
    assert.match(fault(layer), /content hashes to sha256:[0-9a-f]{64}/, r.stdout);
    const javaManifest = badBlob('trivy-java-db', seeded.digests['trivy-java-db:1']!);
    assert.equal(
      fault(badBlob('trivy-java-db', java.layerDigest)),
      `FAULT ${badBlob('trivy-java-db', java.layerDigest)}: missing (referenced by ${javaManifest})`,
    );
    assert.match(fault(join(bad, 'trivy-checks', 'index.json')), /not a valid image index/);
    assert.match(fault(badBlob('trivy-db', junkDigest)), /manifest does not parse/);
    assert.equal(faults.length, 4, r.stdout);
    assert.match(r.stdout, /^failed: .+: 4 fault\(s\) in /m);
  });

  test('verify: an empty folder is a fault; one layout (copy … oci-layout:DIR:TAG) is verified, each fault once', async () => {
    const empty = join(work.dir, 'empty-folder');
    await mkdir(empty);
    const none = await runCli(['store', 'verify', '--store', empty]);
    assert.equal(none.code, 1, none.stdout + none.stderr);
    assert.match(none.stdout, new RegExp(`^FAULT ${empty}: holds no OCI layout`, 'm'));
    assert.doesNotMatch(none.stdout, /all sound/);

    const single = join(work.dir, 'single-layout');
    const copied = await runCli(['copy', `oci-layout:${store}/trivy-db:2`, `oci-layout:${single}:2`]);
    assert.equal(copied.code, 0, copied.stderr);
    const ok = await runCli(['store', 'verify', '--store', single]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^ok: .+: 1 layout\(s\), 1 manifest\(s\), 3 blob\(s\) \(.+\), all sound$/m);

    // a corrupted layer, the store named relative to the cwd: one fault, not also "missing"
    const layer = join(single, 'blobs', 'sha256', v2.layer.digest.slice(7));
    const bytes = await readFile(layer);
    bytes[10] = (bytes[10]! + 1) % 256;
    await writeFile(layer, bytes);
    const bad = await runCli(['store', 'verify', '--store', 'single-layout'], { cwd: work.dir });
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    const faults = bad.stdout.split('\n').filter((l) => l.startsWith('FAULT '));
    assert.equal(faults.length, 1, bad.stdout);
    assert.match(faults[0]!, new RegExp(`^FAULT ${layer}: content hashes to sha256:`));
    assert.match(bad.stdout, /^failed: single-layout: 1 fault\(s\) in 1 layout\(s\)/m);
  });

  test('prune --dry-run reports the old version and its bytes, and changes nothing', async () => {
    const before = await treeSnapshot(store);
    const r = await runCli(['store', 'prune', '--store', store, '--keep', '1', '--dry-run', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      dryRun: boolean;
      repositories: {
        repository: string;
        versionsDropped: { digest: string }[];
        blobsRemoved: number;
        bytesFreed: number;
      }[];
    };
    assert.equal(report.dryRun, true);
    const db = report.repositories.find((x) => x.repository === 'trivy-db')!;
    assert.deepEqual(
      db.versionsDropped.map((v) => v.digest),
      [seeded.digests['trivy-db:2']],
    );
    // the old manifest and layer; the empty config is shared with the current version and stays
    const v1 = seeded.artifacts.find((a) => a.name === 'trivy-db')!.artifact;
    assert.equal(db.blobsRemoved, 2);
    assert.equal(db.bytesFreed, v1.manifestBytes.length + v1.layer.size);
    assert.ok(report.repositories.filter((x) => x !== db).every((x) => x.bytesFreed === 0));
    const human = await runCli(['store', 'prune', '--store', store, '--keep', '1', '--dry-run']);
    assert.match(
      human.stdout,
      /^trivy-db +would drop 1 version\(s\) \(2 sha256:[0-9a-f]{12}\), would remove 2 blob/m,
    );
    assert.match(human.stdout, /nothing was changed/);
    assert.deepEqual(await treeSnapshot(store), before, 'the store is byte for byte as it was');
  });

  test("prune keeps the config's keepVersions by default", async () => {
    const keepOne = join(work.dir, 'keep-one.yaml');
    await writeFile(keepOne, config(join(store, '..'), upstream.host, '    keepVersions: 1'));
    const byConfig = await runCli(['store', 'prune', '--config', keepOne, '--dry-run', '--json']);
    assert.equal(byConfig.code, 0, byConfig.stderr);
    const parsed = JSON.parse(byConfig.stdout) as {
      keep: number;
      repositories: { versionsDropped: unknown[] }[];
    };
    assert.equal(parsed.keep, 1);
    assert.equal(parsed.repositories.flatMap((x) => x.versionsDropped).length, 1);
    // the default keepVersions (3) keeps both versions
    const byDefault = await runCli(['store', 'prune', '--config', cfg, '--dry-run', '--json']);
    const dflt = JSON.parse(byDefault.stdout) as {
      keep: number;
      repositories: { versionsDropped: unknown[] }[];
    };
    assert.equal(dflt.keep, 3);
    assert.equal(dflt.repositories.flatMap((x) => x.versionsDropped).length, 0);
    const bad = await runCli(['store', 'prune', '--store', store, '--keep', '0']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--keep: expected a whole number of versions, at least 1, got 0/);
  });

  test('prune --keep 1 removes the old version and only blobs nothing references', async () => {
    const v1 = seeded.artifacts.find((a) => a.name === 'trivy-db')!;
    const javaBefore = await treeSnapshot(join(store, 'trivy-java-db'));
    const r = await runCli(['store', 'prune', '--store', store, '--keep', '1']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^trivy-db +dropped 1 version\(s\) .*removed 2 blob\(s\)/m);
    assert.equal(await exists(blob('trivy-db', v1.layerDigest)), false, 'old layer removed');
    assert.equal(await exists(blob('trivy-db', v1.manifestDigest)), false, 'old manifest removed');
    for (const d of [v2.layer.digest, v2.manifestDigest, v2.configDescriptor.digest])
      assert.ok(await exists(blob('trivy-db', d)), `current blob ${d} kept`);
    assert.deepEqual(await treeSnapshot(join(store, 'trivy-java-db')), javaBefore, 'other layouts untouched');
    const ls = JSON.parse((await runCli(['store', 'ls', '--store', store, '--json'])).stdout) as LsRow[];
    assert.deepEqual(
      ls.filter((row) => row.repository === 'trivy-db').map((row) => row.digest),
      [v2.manifestDigest],
    );
    const verify = await runCli(['store', 'verify', '--store', store]);
    assert.equal(verify.code, 0, verify.stdout);
    // skopeo still reads the pruned layout
    assert.equal((await skopeoRaw(`oci:${join(store, 'trivy-db')}:2`)).digest, v2.manifestDigest);
  });
});

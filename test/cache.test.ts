// End to end for cache-populator: the built CLI (`trivy-mirror populate`) and daemon (`trivy-mirror run`)
// write Trivy cache dirs that Trivy's own rules accept, swap versions without torn pairs under a
// concurrent reader, repair deletions offline, survive kill -9 and refuse hostile layers.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import {
  ARTIFACT_KINDS,
  buildManifest,
  createKeystream,
  generateArtifact,
  type GeneratedArtifact,
  pushArtifact,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startRegistry,
  writeArtifactToLayout,
} from '@trivy-mirror/fixtures';
import { after, before, describe, test } from 'node:test';
import tar from 'tar-stream';
import {
  type DaemonProcess,
  daemonBin,
  freePort,
  repoRoot,
  runCli,
  startDaemon,
} from './helpers/daemon-process.js';
import { runJob, waitReady } from './helpers/admin-api.js';
import { assertTrivyCache, dbVerdict, readJson } from './helpers/trivy-rules.js';
import { startVexServer, type VexServer } from './helpers/vex-server.js';

const MiB = 1024 * 1024;
const readerScript = fileURLToPath(new URL('./helpers/cache-pair-reader.mjs', import.meta.url));

let root: string;
let registry: RunningRegistry;
let registryStopped = false;
let seeded: SeedUpstreamResult;
let storeDir: string;

function artifact(name: string, tag: string): GeneratedArtifact {
  const a = seeded.artifacts.find((x) => x.name === name && x.tag === tag);
  assert.ok(a, `seeded ${name}:${tag}`);
  return a.artifact;
}

function expectation(from: number, to: number) {
  return {
    db: { layerPath: artifact('trivy-db', '2').layer.path },
    javaDb: { layerPath: artifact('trivy-java-db', '1').layer.path },
    checks: {
      layerPath: artifact('trivy-checks', '2').layer.path,
      manifestDigest: seeded.digests['trivy-checks:2']!,
      major: 2,
    },
    from,
    to,
  };
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

/** What a reader sees of one part: where the link points, the metadata bytes, the db bytes. */
async function snapshot(cacheDir: string, part: 'db' | 'java-db', dbFile: string) {
  const dir = path.join(cacheDir, part);
  return {
    target: await fs.readlink(dir),
    metadata: await fs.readFile(path.join(dir, 'metadata.json'), 'utf8'),
    db: await sha256File(path.join(dir, dbFile)),
  };
}

async function leftovers(cacheDir: string): Promise<string[]> {
  return (await fs.readdir(cacheDir)).filter(
    (n) => n.startsWith('.trivy-mirror-staging-') || n.startsWith('.trivy-mirror-link-'),
  );
}

/** The arguments of `trivy-mirror populate` of the db part only, from an OCI layout store. */
function populateDbArgs(cacheDir: string, store: string, ...extra: string[]): string[] {
  return ['populate', '--cache-dir', cacheDir, '--from-store', store, '--only', 'db', ...extra];
}

/** `populate --only db` from `store` into `cacheDir`; it must succeed. */
async function populateDb(cacheDir: string, store: string): Promise<void> {
  const r = await runCli(populateDbArgs(cacheDir, store));
  assert.equal(r.code, 0, r.stderr + r.stdout);
}

function parseJsonOut(stdout: string): {
  ok: boolean;
  parts: { key: string; status: string; ms: number; error?: string }[];
} {
  return JSON.parse(stdout.slice(stdout.indexOf('{')));
}

before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tm-e2e-cache-'));
  registry = await startRegistry();
  storeDir = path.join(root, 'store');
  seeded = await seedUpstream({
    registryUrl: registry.url,
    layoutRoot: storeDir,
    prefix: 'aquasec',
    workDir: path.join(root, 'work'),
    dbBytes: 4 * MiB,
    javaDbBytes: 2 * MiB,
    seed: 'e2e-cache',
  });
});

after(async () => {
  if (!registryStopped) await registry?.stop();
  await fs.rm(root, { recursive: true, force: true });
});

describe('trivy-mirror populate (CLI)', () => {
  test('--from-store: every field as Trivy expects; a second run changes nothing', async () => {
    const cacheDir = path.join(root, 'cache-store');
    const from = Date.now();
    const r = await runCli(['populate', '--cache-dir', cacheDir, '--from-store', storeDir, '--json']);
    const to = Date.now();
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = parseJsonOut(r.stdout);
    assert.deepEqual(
      out.parts.map((p) => [p.key, p.status]),
      [
        ['db', 'populated'],
        ['java-db', 'populated'],
        ['checks', 'populated'],
      ],
    );
    const meta = await assertTrivyCache(cacheDir, expectation(from, to));
    // Still fine for Trivy 50 minutes later (the +1 h rule) and, for java-db, 23 hours later.
    assert.equal(dbVerdict(meta.db, true, to + 50 * 60_000, 'db').download, false);
    assert.equal(
      dbVerdict({ ...meta['java-db'], NextUpdate: undefined }, true, to + 23 * 3_600_000, 'java-db').download,
      false,
    );

    const again = await runCli(['populate', '--cache-dir', cacheDir, '--from-store', storeDir, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      parseJsonOut(again.stdout).parts.map((p) => p.status),
      ['unchanged', 'unchanged', 'unchanged'],
    );
    const meta2 = await assertTrivyCache(cacheDir, expectation(from, to));
    assert.equal(meta2.db!.DownloadedAt, meta.db!.DownloadedAt, 'an unchanged run keeps DownloadedAt');
    assert.deepEqual(await leftovers(cacheDir), []);

    // Older Trivy releases: checks tag 1, MajorVersion 1.
    const old = path.join(root, 'cache-checks1');
    const r1 = await runCli([
      'populate',
      '--cache-dir',
      old,
      '--from-store',
      storeDir,
      '--only',
      'checks',
      '--checks-tag',
      '1',
    ]);
    assert.equal(r1.code, 0, r1.stderr + r1.stdout);
    const p1 = await readJson(path.join(old, 'policy', 'metadata.json'));
    assert.equal(p1?.MajorVersion, 1);
    assert.equal(p1?.Digest, seeded.digests['trivy-checks:1']);
  });

  test('--from-registry HOST/aquasec (a real registry): the same result', async () => {
    const cacheDir = path.join(root, 'cache-registry');
    const from = Date.now();
    const r = await runCli([
      'populate',
      '--cache-dir',
      cacheDir,
      '--from-registry',
      `${registry.host}/aquasec`,
      '--json',
    ]);
    const to = Date.now();
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.ok(parseJsonOut(r.stdout).parts.every((p) => p.status === 'populated'));
    await assertTrivyCache(cacheDir, expectation(from, to));
  });
});

/** Pushes a trivy-db version whose trivy.db starts with a marker derivable from its seed. */
async function dbVersion(i: number, base: number) {
  const seed = `loop-${i}`;
  const art = await generateArtifact({
    kind: 'trivy-db',
    seed,
    dbBytes: 2 * MiB,
    updatedAt: new Date(base + i * 60_000),
    workDir: path.join(root, 'work-loop'),
  });
  const meta = JSON.parse(art.metadataJson!.toString('utf8')) as { UpdatedAt: string };
  return { art, updatedAt: meta.UpdatedAt, marker: createKeystream(seed, 'trivy.db')(16).toString('hex') };
}

describe('trivy-mirror run with a cache target', () => {
  let daemon: DaemonProcess;
  let vex: VexServer;
  let cacheDir: string;
  let stateDir: string;
  let startedAt: number;

  before(async () => {
    vex = await startVexServer();
    cacheDir = path.join(root, 'cache-daemon');
    stateDir = path.join(root, 'state');
    const admin = await freePort();
    const serve = await freePort();
    const config = path.join(root, 'daemon.yaml');
    await fs.writeFile(
      config,
      [
        `stateDir: ${stateDir}`,
        `admin: { listen: 127.0.0.1:${admin} }`,
        `serve: { listen: 127.0.0.1:${serve}, publicUrl: http://127.0.0.1:${serve} }`,
        'log: { level: info, format: json }',
        'plugins:',
        '  auth-providers: { dockerConfig: false }',
        `  oci-sync: { sources: [${registry.host}/aquasec] }`,
        `  cache-populator: { targets: [{ dir: ${cacheDir}, include: [db, java-db, checks] }] }`,
        `  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }`,
        '',
      ].join('\n'),
    );
    startedAt = Date.now();
    daemon = await startDaemon({ args: ['run', '--config', config], adminUrl: `http://127.0.0.1:${admin}` });
    await waitReady(daemon);
  });

  after(async () => {
    await daemon?.stop();
    await vex?.close();
  });

  test('after ready the cache dir is what Trivy expects', async () => {
    await assertTrivyCache(cacheDir, expectation(startedAt, Date.now()));
  });

  test('repeated repopulations: a concurrent reader never sees a torn pair or a missing file', async (t) => {
    const base = Date.parse('2026-01-01T00:00:00Z');
    const first = artifact('trivy-db', '2');
    const expected: Record<string, string> = {
      [JSON.parse(first.metadataJson!.toString('utf8')).UpdatedAt]: createKeystream(
        'e2e-cache',
        'trivy.db',
      )(16).toString('hex'),
    };
    const versions = [];
    const N = 20;
    for (let i = 0; i < N; i++) {
      const v = await dbVersion(i, base);
      versions.push(v);
      expected[v.updatedAt] = v.marker;
    }
    const expectedFile = path.join(root, 'expected.json');
    const stopFile = path.join(root, 'reader.stop');
    await fs.writeFile(expectedFile, JSON.stringify(expected));
    const reader: ChildProcess = spawn(process.execPath, [readerScript, cacheDir, expectedFile, stopFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let readerOut = '';
    let readerErr = '';
    reader.stdout!.on('data', (d) => (readerOut += d));
    reader.stderr!.on('data', (d) => (readerErr += d));
    const readerExit = once(reader, 'exit');
    try {
      for (const v of versions) {
        await pushArtifact(registry.url, 'aquasec/trivy-db', '2', v.art);
        const run = await runJob(daemon, 'oci-sync');
        assert.equal(run.status, 'success', run.summary);
        await daemon.waitForLog(
          (l) => l.msg === 'cache part populated' && l.part === 'db' && l.digest === v.art.layer.digest,
          30_000,
        );
      }
      // Forced repopulations of the last version from the CLI while the daemon runs.
      for (let i = 0; i < 2; i++) {
        const r = await runCli(populateDbArgs(cacheDir, path.join(stateDir, 'oci'), '--force'));
        assert.equal(r.code, 0, r.stderr + r.stdout);
      }
    } finally {
      await fs.writeFile(stopFile, '');
      await readerExit;
    }
    assert.equal(readerErr, '');
    const stats = JSON.parse(readerOut) as {
      iterations: number;
      resolvedChecks: number;
      pathChecks: number;
      straddled: number;
      torn: string[];
      missing: string[];
      unknown: string[];
      versions: string[];
    };
    t.diagnostic(`reader: ${JSON.stringify({ ...stats, versions: stats.versions.length })}`);
    assert.deepEqual(stats.torn, [], 'no metadata.json beside a trivy.db of another version');
    assert.deepEqual(stats.missing, [], 'no missing or half-written file');
    assert.deepEqual(stats.unknown, [], 'only versions that were pushed');
    assert.ok(stats.resolvedChecks > 100 && stats.pathChecks > 100, JSON.stringify(stats));
    assert.ok(stats.versions.length >= N / 2, `the reader saw several versions: ${stats.versions.length}`);
    const meta = await readJson(path.join(cacheDir, 'db', 'metadata.json'));
    assert.equal(meta?.UpdatedAt, versions.at(-1)!.updatedAt);
    assert.equal(dbVerdict(meta, true, Date.now(), 'db').skipValid, true);
  });

  test('rm db/trivy.db and rm java-db/metadata.json are repaired offline within 2 s + extraction', async (t) => {
    // How long extracting the db takes on this machine right now (from the daemon's store).
    const probe = await runCli([
      'populate',
      '--cache-dir',
      path.join(root, 'cache-probe'),
      '--from-store',
      path.join(stateDir, 'oci'),
      '--only',
      'db,java-db',
      '--json',
    ]);
    assert.equal(probe.code, 0, probe.stderr);
    const ms = Object.fromEntries(parseJsonOut(probe.stdout).parts.map((p) => [p.key, p.ms]));
    // No network from here on: the upstream registry is gone.
    await registry.stop();
    registryStopped = true;

    const cases = [
      { part: 'db' as const, dbFile: 'trivy.db', remove: 'trivy.db' },
      { part: 'java-db' as const, dbFile: 'trivy-java.db', remove: 'metadata.json' },
    ];
    for (const c of cases) {
      const before = await snapshot(cacheDir, c.part, c.dbFile);
      const beforeMeta = JSON.parse(before.metadata) as Record<string, unknown>;
      const t0 = Date.now();
      await fs.rm(path.join(cacheDir, c.part, c.remove));
      const bound = 2000 + 2 * (ms[c.part] ?? 0) + 200;
      for (;;) {
        const meta = await readJson(path.join(cacheDir, c.part, 'metadata.json'));
        const ok =
          meta &&
          (await fs.stat(path.join(cacheDir, c.part, c.dbFile)).then(
            () => true,
            () => false,
          ));
        if (ok) break;
        assert.ok(Date.now() - t0 < bound + 5000, `${c.part} not repaired: ${daemon.stderr().slice(-1000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const took = Date.now() - t0;
      t.diagnostic(`${c.part}: rm ${c.remove} repaired in ${took} ms (extraction ${ms[c.part]} ms)`);
      assert.ok(
        took <= bound,
        `${c.part} repaired in ${took} ms, bound ${bound} ms (extraction ${ms[c.part]} ms)`,
      );
      const now = await snapshot(cacheDir, c.part, c.dbFile);
      assert.equal(now.db, before.db, `${c.part}: same db bytes`);
      assert.notEqual(now.target, before.target, `${c.part}: a new version dir`);
      const meta = JSON.parse(now.metadata) as Record<string, unknown>;
      assert.equal(meta.UpdatedAt, beforeMeta.UpdatedAt);
      assert.equal(
        meta.DownloadedAt,
        beforeMeta.DownloadedAt,
        'a repair of the same content keeps DownloadedAt',
      );
      assert.equal(dbVerdict(meta, true, Date.now(), c.part).skipValid, true);
    }
    assert.ok(daemon.logs().some((l) => l.msg === 'cache part damaged; repairing from the store'));
  });
});

describe('kill -9 during extraction', () => {
  test('the old version stays intact and the next populate cleans the staging leftovers', async () => {
    const store = path.join(root, 'store-kill');
    const cacheDir = path.join(root, 'cache-kill');
    const work = path.join(root, 'work-kill');
    /** A new trivy-db version as the store's trivy-db:2. */
    const storeDbVersion = async (seed: string, dbBytes: number) => {
      const a = await generateArtifact({ kind: 'trivy-db', seed, dbBytes, workDir: work });
      await writeArtifactToLayout(path.join(store, 'trivy-db'), '2', a);
      return a;
    };
    await storeDbVersion('kill-old', 2 * MiB);
    await populateDb(cacheDir, store);
    const old = await snapshot(cacheDir, 'db', 'trivy.db');

    // 1.5 GB trivy.db at the default ratio (a ~160 MB layer), like the real one.
    const big = await storeDbVersion('kill-big', 1536 * MiB);
    await fs.rm(big.layer.path); // only the store copy is needed from here on
    const child = spawn(process.execPath, [daemonBin, ...populateDbArgs(cacheDir, store)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    let stagingFile = '';
    let size = 0;
    const t0 = Date.now();
    while (size < 200 * MiB) {
      assert.ok(child.exitCode === null, 'populate still running');
      assert.ok(Date.now() - t0 < 60_000, 'extraction did not progress');
      const staging = (await leftovers(cacheDir)).find((n) => n.startsWith('.trivy-mirror-staging-db-'));
      if (staging) {
        stagingFile = path.join(cacheDir, staging, 'trivy.db');
        size = await fs.stat(stagingFile).then(
          (s) => s.size,
          () => 0,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    const [, signal] = await exited;
    assert.equal(signal, 'SIGKILL');
    assert.ok(size < 1536 * MiB, 'killed mid-extraction');

    assert.deepEqual(await snapshot(cacheDir, 'db', 'trivy.db'), old, 'the old version is untouched');
    const meta = await readJson(path.join(cacheDir, 'db', 'metadata.json'));
    assert.equal(dbVerdict(meta, true, Date.now(), 'db').skipValid, true);
    assert.equal((await leftovers(cacheDir)).length, 1, 'the killed staging dir is left behind');

    // The next populate (a new small version) cleans up and works.
    const next = await storeDbVersion('kill-next', 2 * MiB);
    await populateDb(cacheDir, store);
    assert.deepEqual(await leftovers(cacheDir), [], 'staging leftovers removed');
    const nextMeta = await readJson(path.join(cacheDir, 'db', 'metadata.json'));
    assert.equal(nextMeta?.UpdatedAt, JSON.parse(next.metadataJson!.toString('utf8')).UpdatedAt);
  });
});

/** A store whose trivy-db:2 layer is `entries` as a tar.gz (hostile content), manifest of the real shape. */
async function hostileStore(
  dir: string,
  entries: {
    name: string;
    type?: 'file' | 'symlink' | 'link';
    content?: Buffer;
    linkname?: string;
    size?: number;
    zeros?: number;
  }[],
  trailingZeros = 0,
): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const layerPath = path.join(dir, 'layer.tar.gz');
  const pack = tar.pack();
  const written = pipeline(pack, createGzip(), (await fs.open(layerPath, 'w')).createWriteStream());
  for (const e of entries) {
    if (e.type === 'symlink' || e.type === 'link') {
      pack.entry({ name: e.name, type: e.type, linkname: e.linkname });
    } else if (e.zeros) {
      const sink = pack.entry({ name: e.name, size: e.zeros });
      const chunk = Buffer.alloc(MiB);
      for (let n = 0; n < e.zeros; n += MiB) if (!sink.write(chunk)) await once(sink, 'drain');
      sink.end();
    } else {
      pack.entry({ name: e.name }, e.content ?? Buffer.alloc(0));
    }
  }
  pack.finalize();
  await written;
  if (trailingZeros) {
    // Data after the tar's end-of-archive blocks, inside the same gzip stream (a classic bomb).
    const tarBytes = gunzipSync(await fs.readFile(layerPath));
    await fs.writeFile(layerPath, gzipSync(Buffer.concat([tarBytes, Buffer.alloc(trailingZeros)])));
  }
  const bytes = await fs.readFile(layerPath);
  const layer = {
    mediaType: ARTIFACT_KINDS['trivy-db'].layerMediaType,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    size: bytes.length,
    annotations: { 'org.opencontainers.image.title': ARTIFACT_KINDS['trivy-db'].title },
  };
  const built = buildManifest({ kind: 'trivy-db', shape: 'oci-1.1', layer, annotations: {} });
  await writeArtifactToLayout(path.join(dir, 'store', 'trivy-db'), '2', {
    manifestBytes: built.manifestBytes,
    manifestDigest: `sha256:${createHash('sha256').update(built.manifestBytes).digest('hex')}`,
    configBytes: built.configBytes,
    configDescriptor: built.configDescriptor,
    layer: { ...layer, path: layerPath },
  });
}

describe('hostile layers through the CLI', () => {
  const meta = Buffer.from(
    JSON.stringify({ Version: 2, NextUpdate: '2099-01-01T00:00:00Z', UpdatedAt: '2026-01-01T00:00:00Z' }),
  );
  const cases = [
    {
      name: 'traversal',
      entries: [
        { name: 'metadata.json', content: meta },
        { name: 'trivy.db', content: Buffer.from('db') },
        { name: '../evil.txt', content: Buffer.from('x') },
      ],
      message: /entry "\.\.\/evil\.txt" escapes the target/,
    },
    {
      name: 'symlink',
      entries: [
        { name: 'metadata.json', content: meta },
        { name: 'trivy.db', type: 'symlink' as const, linkname: '/etc/passwd' },
      ],
      message: /entry "trivy\.db" is a symlink, which is not allowed/,
    },
    {
      name: 'gzip bomb',
      entries: [
        { name: 'metadata.json', content: meta },
        { name: 'trivy.db', zeros: 64 * MiB },
      ],
      message: /declares 67108864 bytes, above the cap/,
      args: ['--max-unpacked-bytes', String(8 * MiB)],
    },
    {
      name: 'gzip bomb (zeros after the archive end)',
      entries: [
        { name: 'metadata.json', content: meta },
        { name: 'trivy.db', content: Buffer.from('small') },
      ],
      trailingZeros: 64 * MiB,
      message: /decompressed size exceeds the cap of 8388608 bytes/,
      args: ['--max-unpacked-bytes', String(8 * MiB)],
    },
  ];
  // One cache dir holding a good version; every hostile populate must leave it exactly so.
  let cacheDir: string;
  before(async () => {
    cacheDir = path.join(root, 'hostile-cache');
    await populateDb(cacheDir, storeDir);
  });
  for (const c of cases) {
    test(`${c.name}: non-zero exit, a clear message, nothing written, the old version intact`, async (t) => {
      const dir = path.join(root, `hostile-${c.name.replace(/\W/g, '-')}`);
      const old = await snapshot(cacheDir, 'db', 'trivy.db');
      const entriesBefore = (await fs.readdir(cacheDir)).sort();
      const versionsBefore = (await fs.readdir(path.join(cacheDir, '.trivy-mirror'))).sort();

      await hostileStore(dir, c.entries, c.trailingZeros);
      const r = await runCli(populateDbArgs(cacheDir, path.join(dir, 'store'), ...(c.args ?? [])));
      assert.notEqual(r.code, 0, 'populate fails');
      const text = r.stdout + r.stderr;
      t.diagnostic(r.stdout.trim());
      assert.match(text, /failed/);
      assert.match(text, c.message, text);
      assert.deepEqual(await snapshot(cacheDir, 'db', 'trivy.db'), old, 'old version intact');
      assert.deepEqual((await fs.readdir(cacheDir)).sort(), entriesBefore, 'nothing new in the cache dir');
      assert.deepEqual(
        (await fs.readdir(path.join(cacheDir, '.trivy-mirror'))).sort(),
        versionsBefore,
        'no new version',
      );
      await assert.rejects(fs.stat(path.join(dir, 'evil.txt')));
      await assert.rejects(fs.stat(path.join(cacheDir, 'evil.txt')));
    });
  }
});

// End to end: the built daemon's store damaged under it, and what clients of its /v2/ get. A flipped
// byte in a served layer: the download is cut before its end (never a complete wrong body), the blob
// is quarantined, /readyz names the version, and it is fetched again and served whole. A deleted blob:
// 503 UNAVAILABLE (so Trivy tries its next registry) until the re-fetch. A torn index.json: never a
// 500, rebuilt from the blobs with a log line. cache-populator reading a bad layer announces it and
// the cache dir is filled once the store is repaired. Without an upstream: the older complete
// version is served and /readyz says which import repairs it; the import does.
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type FaultProxy,
  generateArtifact,
  pushArtifact,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startFaultProxy,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { runJob, waitReady } from './helpers/admin-api.js';
import { type DaemonProcess, eventually, freePort, runCli, startDaemon } from './helpers/daemon-process.js';
import { writeMirrorConfig } from './helpers/mirror-config.js';
import { getManifest, skopeoCopy, tempDir } from './helpers/oci-e2e.js';
import { blobFile, clientGet, flipByte, readyz, tearFile } from './helpers/store-damage.js';

const MiB = 1024 * 1024;
/** Long enough to see /readyz red while a damaged blob is fetched again, on a busy 2-core machine. */
const SLOW_MS = 4000;

interface Mirror {
  daemon: DaemonProcess;
  config: string;
  state: string;
  adminUrl: string;
  serveUrl: string;
}

async function startMirror(
  work: string,
  name: string,
  sources: string[],
  cacheDir?: string,
): Promise<Mirror> {
  const adminPort = await freePort();
  const servePort = await freePort();
  const state = join(work, `state-${name}`);
  const config = await writeMirrorConfig(join(work, `${name}.yaml`), {
    stateDir: state,
    sources,
    adminPort,
    servePort,
  });
  const extra = ['  vexhub-mirror: { enabled: false }'];
  extra.push(
    cacheDir
      ? `  cache-populator: { targets: [{ dir: ${cacheDir}, include: [db] }] }`
      : '  cache-populator: { enabled: false }',
  );
  await writeFile(config, `${await readFile(config, 'utf8')}${extra.join('\n')}\n`);
  return {
    config,
    state,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    serveUrl: `http://127.0.0.1:${servePort}`,
    daemon: undefined as unknown as DaemonProcess,
  };
}

async function run(m: Mirror): Promise<Mirror> {
  m.daemon = await startDaemon({ args: ['run', '--config', m.config], adminUrl: m.adminUrl });
  await waitReady(m.daemon, 120_000);
  return m;
}

describe('self-healing store (e2e)', { timeout: 400_000 }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let upstream: RunningRegistry;
  let proxy: FaultProxy;
  let seeded: SeedUpstreamResult;
  let cacheDir: string;
  let m: Mirror;
  const layerOf = (name: string) => seeded.artifacts.find((a) => a.name === name)!;
  /** Slows upstream GETs of one blob down, so the re-fetch window can be watched. */
  const slow = (digest: string) =>
    proxy.setFault((req) =>
      req.method === 'GET' && req.url?.includes(`/blobs/${digest}`)
        ? { kind: 'delay', ms: SLOW_MS }
        : undefined,
    );
  const logged = (msg: string, reporter?: string) =>
    m.daemon.logs().some((l) => String(l.msg).startsWith(msg) && (!reporter || l.reporter === reporter));

  before(async () => {
    work = await tempDir('self-heal');
    upstream = await startRegistry();
    seeded = await seedUpstream({
      registryUrl: upstream.url,
      prefix: 'aquasec',
      workDir: join(work.dir, 'seed'),
      dbBytes: 3 * MiB,
      dbCompressionRatio: 1.05,
      javaDbBytes: 2 * MiB,
      javaDbCompressionRatio: 1.05,
      seed: 'self-heal',
    });
    proxy = await startFaultProxy({ upstream: upstream.url });
    cacheDir = join(work.dir, 'cache');
    m = await run(await startMirror(work.dir, 'main', [`${proxy.host}/aquasec`], cacheDir));
  });

  after(async () => {
    await m?.daemon?.stop();
    await proxy?.stop();
    await upstream?.stop();
    await work?.remove();
  });

  test('a flipped byte in a served layer: cut before the end, quarantined, named by /readyz, fetched again', async () => {
    const { layerDigest: layer, layerSize: size } = layerOf('trivy-db');
    const url = `${m.serveUrl}/v2/aquasec/trivy-db/blobs/${layer}`;
    const good = await clientGet(url);
    assert.equal(good.digest, layer, 'served whole before the damage (and hashed once)');
    slow(layer);
    await flipByte(blobFile(m.state, 'trivy-db', layer), Math.floor(size / 2));

    const cut = await clientGet(url);
    assert.equal(cut.status, 200);
    assert.equal(cut.complete, false, 'the body must be cut, not end');
    assert.ok(cut.bytes < size, `${cut.bytes} of ${size} bytes`);

    const red = await eventually(
      async () => {
        const r = await readyz(m.adminUrl);
        return r.status === 503 && r.reasons.some((x) => x.includes('trivy-db:2') && x.includes('moved to'))
          ? r
          : undefined;
      },
      15_000,
      '/readyz to name trivy-db:2',
    );
    assert.match(
      red.reasons.join('\n'),
      new RegExp(
        `damaged in the store: trivy-db:2 \\(version sha256:[a-f0-9]{64}: ${layer} content hashes to sha256:[a-f0-9]{64} \\(\\d+ bytes\\), moved to \\S+/quarantine/\\S+; fetching it again\\)`,
      ),
    );
    const during = await clientGet(url);
    assert.equal(during.status, 503, 'quarantined and not fetched yet: UNAVAILABLE, not bad bytes');
    assert.equal(during.headers['retry-after'], '60');
    assert.match(during.body.toString(), /UNAVAILABLE/);

    await waitReady(m.daemon, 60_000);
    proxy.setFault(undefined);
    const healed = await clientGet(url);
    assert.ok(healed.complete);
    assert.equal(healed.digest, layer);
    const out = join(work.dir, 'skopeo-after');
    await mkdir(out, { recursive: true });
    await skopeoCopy(`docker://${m.serveUrl.slice(7)}/trivy-db:2`, `dir:${out}`);
    assert.ok(
      (await readdir(join(m.state, 'oci', 'trivy-db', 'quarantine'))).some((f) =>
        f.startsWith(layer.slice(7)),
      ),
    );
    assert.ok(logged('damaged blob in the store', 'serve'));
    assert.ok(logged('damaged version fetched again'));
  });

  test('a deleted blob: 503 UNAVAILABLE, not 404, while /readyz names it; then fetched again', async () => {
    const { layerDigest: layer } = layerOf('trivy-java-db');
    const url = `${m.serveUrl}/v2/trivy-java-db/blobs/${layer}`;
    slow(layer);
    await rm(blobFile(m.state, 'trivy-java-db', layer));
    const red = await readyz(m.adminUrl);
    assert.equal(red.status, 503);
    assert.match(
      red.reasons.join('\n'),
      new RegExp(
        `trivy-java-db:1 \\(version sha256:[a-f0-9]{64}: layer ${layer} missing from the store; fetching it again\\)`,
      ),
    );
    const during = await clientGet(url);
    assert.equal(during.status, 503);
    assert.match(during.body.toString(), /"code":"UNAVAILABLE".*missing from the mirror's store/);
    await waitReady(m.daemon, 60_000);
    proxy.setFault(undefined);
    const healed = await clientGet(url);
    assert.ok(healed.complete);
    assert.equal(healed.digest, layer);
  });

  test('a torn index.json: never a 500; /readyz names it; rebuilt from the blobs with a log line', async () => {
    const before = await getManifest(m.serveUrl, 'trivy-checks', '2');
    assert.equal(before.status, 200);
    await tearFile(join(m.state, 'oci', 'trivy-checks', 'index.json'));
    const red = await readyz(m.adminUrl);
    assert.equal(red.status, 503);
    assert.match(
      red.reasons.join('\n'),
      /damaged in the store: trivy-checks \(.*index\.json is not a valid image index; oci-sync rebuilds it/,
    );
    const during = await getManifest(m.serveUrl, 'trivy-checks', '2');
    assert.ok(during.status === 503 || during.status === 200, `status ${during.status}`);
    await m.daemon.waitForLog(
      (l) => String(l.msg).startsWith('index.json was damaged: rebuilt from the blobs'),
      30_000,
    );
    await waitReady(m.daemon, 30_000);
    for (const tag of ['1', '2']) {
      const now = await getManifest(m.serveUrl, 'trivy-checks', tag);
      assert.equal(now.status, 200, tag);
      assert.equal(now.digestHeader, seeded.digests[`trivy-checks:${tag}`], tag);
    }
  });

  test('cache-populator reading a bad layer announces it; the store is repaired and the cache dir filled', async () => {
    const { layerDigest: layer, layerSize: size } = layerOf('trivy-db');
    await flipByte(blobFile(m.state, 'trivy-db', layer), size - 1);
    const db = join(cacheDir, 'db', 'trivy.db');
    const want = (await readFile(db)).length;
    await rm(db);
    await eventually(
      async () => logged('damaged blob in the store', 'cache-populator'),
      30_000,
      'the report',
    );
    await eventually(
      async () => (await readFile(db).catch(() => Buffer.alloc(0))).length === want,
      60_000,
      'db/trivy.db back',
    );
    await waitReady(m.daemon, 30_000);
    assert.equal((await clientGet(`${m.serveUrl}/v2/trivy-db/blobs/${layer}`)).digest, layer);
  });

  describe('without an upstream (sources: [])', () => {
    let inside: Mirror;
    let current: string;
    let older: string;

    before(async () => {
      // a newer trivy-db upstream: the connected store keeps the first one as history
      const next = await generateArtifact({
        kind: 'trivy-db',
        dbBytes: MiB,
        seed: 'self-heal-next',
        workDir: join(work.dir, 'next'),
      });
      await pushArtifact(upstream.url, 'aquasec/trivy-db', '2', next);
      assert.equal((await runJob(m.daemon, 'oci-sync', 120_000)).status, 'success');
      current = next.manifestDigest;
      older = seeded.digests['trivy-db:2']!;
      inside = await startMirror(work.dir, 'inside', []);
      await cp(join(m.state, 'oci'), join(inside.state, 'oci'), { recursive: true });
      await run(inside);
    });
    after(() => inside?.daemon?.stop());

    test('the older complete version is served; /readyz says which import repairs it; the import does', async () => {
      const manifest = JSON.parse((await getManifest(inside.serveUrl, 'trivy-db', '2')).bytes.toString());
      const layer = manifest.layers[0].digest as string;
      await rm(blobFile(inside.state, 'trivy-db', layer));
      assert.equal((await clientGet(`${inside.serveUrl}/v2/trivy-db/blobs/${layer}`)).status, 503);
      await eventually(
        async () => (await getManifest(inside.serveUrl, 'trivy-db', '2')).digestHeader === older,
        15_000,
        'trivy-db:2 to answer with the older version',
      );
      const red = await readyz(inside.adminUrl);
      assert.equal(red.status, 503);
      assert.match(
        red.reasons.join('\n'),
        new RegExp(
          `trivy-db:2 \\(version ${current}: .*; serving the older version ${older} meanwhile; no upstream: import an export that holds trivy-db:2@${current} \\(\`trivy-mirror import DIR\`\\)`,
        ),
      );
      assert.ok(
        inside.daemon
          .logs()
          .some(
            (l) =>
              String(l.msg).startsWith('serving an older version') && l.damaged === `trivy-db:2@${current}`,
          ),
      );

      const out = join(work.dir, 'export');
      const ex = await runCli(['export', '--out', out, '--config', m.config]);
      assert.equal(ex.code, 0, ex.stderr);
      const im = await runCli(['import', out, '--config', inside.config]);
      assert.equal(im.code, 0, im.stderr);
      await waitReady(inside.daemon, 30_000);
      assert.equal((await getManifest(inside.serveUrl, 'trivy-db', '2')).digestHeader, current);
      assert.equal((await clientGet(`${inside.serveUrl}/v2/trivy-db/blobs/${layer}`)).digest, layer);
    });
  });
});

// End to end: the inside verifies what crosses the gap. A connected side with `signing:` syncs from a
// loopback docker-registry and VEX server and exports; the inside (`trust: { keys, require: true }`)
// imports that export, and refuses copies of it that are unsigned, signed by an unknown key, with one
// byte of the payload or of an artifact changed, or whose signature names another digest — each with
// its code and nothing admitted. The real inside daemon then serves the versions, /status and
// `store verify` name the signer, and a version copied in by hand without a signature is not served.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  generateArtifact,
  type RunningRegistry,
  seedUpstream,
  startRegistry,
  writeArtifactToLayout,
} from '@trivy-mirror/fixtures';
import { getStatus, runJob, waitReady } from './helpers/admin-api.js';
import { eventually, freePort, runCli, startDaemon } from './helpers/daemon-process.js';
import { getManifest, sha256, tempDir } from './helpers/oci-e2e.js';
import {
  blobPath,
  dbEntry,
  filesByContent,
  keyPair,
  putBlob,
  REF,
  readIndex,
  sigEntry,
  writeIndex,
} from './helpers/export-tamper.js';
import { startVexServer, type VexServer } from './helpers/vex-server.js';

type Json = Record<string, unknown>;

describe('trust: the inside admits only what a trusted key signed (e2e)', { timeout: 300_000 }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let upstream: RunningRegistry;
  let vex: VexServer;
  let signer: Awaited<ReturnType<typeof keyPair>>;
  let stranger: Awaited<ReturnType<typeof keyPair>>;
  let exportDir: string;
  let insideState: string;
  let adminPort: number;
  let servePort: number;

  const insideConfig = async (name: string, keys: string[]) => {
    const path = join(work.dir, `${name}.yaml`);
    await writeFile(
      path,
      [
        `stateDir: ${insideState}`,
        `admin: { listen: 127.0.0.1:${adminPort} }`,
        `serve: { listen: 127.0.0.1:${servePort}, publicUrl: http://127.0.0.1:${servePort} }`,
        'log: { level: info, format: json }',
        `trust: { keys: [${keys.join(', ')}], require: true }`,
        'plugins:',
        '  auth-providers: { dockerConfig: false }',
        '  oci-sync: { sources: [] }',
        '  vexhub-mirror: { repositories: [{ name: vexhub, source: import }] }',
        `  cache-populator: { targets: [{ dir: ${join(work.dir, 'cache')}, include: [db] }] }`,
        '',
      ].join('\n'),
    );
    return path;
  };
  /** Every file of the inside's store and VEX versions, by content: proves nothing was admitted. */
  const insideFiles = () =>
    filesByContent([join(insideState, 'oci'), join(insideState, 'plugins', 'vexhub-mirror', 'repositories')]);
  /** A copy of the export changed by `change(dir)`. */
  const variant = async (name: string, change: (dir: string) => Promise<void>) => {
    const dir = join(work.dir, `export-${name}`);
    await cp(exportDir, dir, { recursive: true });
    await change(dir);
    return dir;
  };

  before(async () => {
    work = await tempDir('trust-import');
    upstream = await startRegistry();
    vex = await startVexServer();
    signer = await keyPair(work.dir, 'mirror');
    stranger = await keyPair(work.dir, 'stranger');
    await seedUpstream({
      registryUrl: upstream.url,
      prefix: 'aquasec',
      workDir: join(work.dir, 'seed'),
      dbBytes: 64 * 1024,
      javaDbBytes: 64 * 1024,
      seed: 'trust',
    });
    const connected = join(work.dir, 'connected.yaml');
    await writeFile(
      connected,
      [
        `stateDir: ${join(work.dir, 'connected')}`,
        'admin: { listen: 127.0.0.1:0 }',
        `signing: { keyFile: ${signer.key} }`,
        `trust: { keys: [${signer.pub}] }`,
        'plugins:',
        '  auth-providers: { dockerConfig: false }',
        `  oci-sync: { sources: [${upstream.host}/aquasec] }`,
        `  vexhub-mirror: { repositories: [{ name: vexhub, url: ${vex.url}/vexhub }] }`,
        '',
      ].join('\n'),
    );
    const s = await runCli(['sync', '--config', connected]);
    assert.equal(s.code, 0, `sync: ${s.stdout}${s.stderr}`);
    // the connected side records who signed what it serves too (its own key)
    const state = JSON.parse(
      await readFile(join(work.dir, 'connected', 'plugins', 'oci-sync', 'state.json'), 'utf8'),
    ) as { artifacts: Record<string, { signature?: Json }> };
    assert.equal(state.artifacts['trivy-db:2']?.signature?.keyFile, 'mirror.pub');
    exportDir = join(work.dir, 'export');
    const e = await runCli(['export', '--out', exportDir, '--config', connected]);
    assert.equal(e.code, 0, `export: ${e.stdout}${e.stderr}`);
    await upstream.stop();
    await vex.close();
    insideState = join(work.dir, 'inside');
    adminPort = await freePort();
    servePort = await freePort();
  });
  after(() => work?.remove());

  test('config check and run name a trusted key file that is missing or not a public key', async () => {
    const bad = await insideConfig('bad-keys', [join(work.dir, 'missing.pub'), signer.key]);
    const r = await runCli(['config', 'check', '--config', bad]);
    assert.notEqual(r.code, 0);
    const text = `${r.stdout}${r.stderr}`;
    assert.match(text, /trust\.keys\[0\]/);
    assert.ok(text.includes('missing.pub'), text);
    assert.match(text, /trust\.keys\[1\]/);
    // `run` makes the same pre-flight: it does not start on a key it cannot use
    const run = await runCli(['run', '--config', bad], { timeoutMs: 30_000 });
    assert.notEqual(run.code, 0);
    assert.equal(run.code === null, false, 'run stopped by itself, not by the timeout');
    assert.match(`${run.stdout}${run.stderr}`, /trust\.keys\[0\]/);
  });

  test('refused, nothing admitted: unsigned, unknown key, changed payload, changed artifact, signature for another digest', async () => {
    const config = await insideConfig('inside', [signer.pub]);
    const before = await insideFiles();
    const refused = async (dir: string, code: string, pattern: RegExp, cfg = config) => {
      const r = await runCli(['import', dir, '--config', cfg, '--no-notify']);
      assert.equal(r.code, 1, `${code}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /refused, nothing changed/, code);
      assert.ok(r.stderr.includes(`[${code}]`), `${code}: ${r.stderr}`);
      assert.match(r.stderr, pattern, code);
      assert.deepEqual(await insideFiles(), before, `${code}: nothing admitted`);
    };

    // unsigned: the db's signature artifact left out of the export
    const unsigned = await variant('unsigned', async (dir) => {
      const layout = join(dir, 'trivy-db');
      const index = await readIndex(layout);
      const sig = sigEntry(index, dbEntry(index).digest);
      await writeIndex(layout, { ...index, manifests: index.manifests.filter((m) => m !== sig) });
    });
    await refused(unsigned, 'UNSIGNED', /trivy-db:2 \(sha256:[a-f0-9]{64}\) is unsigned/);

    // signed by a key the inside does not trust: its id is named
    const strangerOnly = await insideConfig('stranger', [stranger.pub]);
    await refused(exportDir, 'UNKNOWN_KEY', new RegExp(`it names key ${signer.keyIdShort}`), strangerOnly);

    // one byte of the payload changed, and the .sig re-hashed around it (a plain change fails the digests)
    const payload = await variant('payload', async (dir) => {
      const layout = join(dir, 'trivy-db');
      const index = await readIndex(layout);
      const sig = sigEntry(index, dbEntry(index).digest);
      const manifest = JSON.parse(await readFile(blobPath(layout, sig.digest), 'utf8')) as {
        layers: { digest: string; size: number }[];
      };
      const bytes = await readFile(blobPath(layout, manifest.layers[0]!.digest));
      const changed = Buffer.from(bytes.toString('utf8').replace('"critical"', '"critical" '));
      manifest.layers[0]!.digest = await putBlob(layout, changed);
      manifest.layers[0]!.size = changed.length;
      const mbytes = Buffer.from(JSON.stringify(manifest));
      sig.digest = await putBlob(layout, mbytes);
      sig.size = mbytes.length;
      await writeIndex(layout, index);
    });
    await refused(
      payload,
      'BAD_SIGNATURE',
      new RegExp(`trusted key ${signer.keyIdShort} \\(\\S*mirror\\.pub\\) does not match its payload`),
    );

    // one byte of an artifact blob changed: its digest no longer matches (refused before any signature)
    const blob = await variant('blob', async (dir) => {
      const layout = join(dir, 'trivy-java-db');
      const java = (await readIndex(layout)).manifests.find((x) => x.annotations?.[REF] === '1')!;
      const m = JSON.parse(await readFile(blobPath(layout, java.digest), 'utf8')) as {
        layers: { digest: string }[];
      };
      const file = blobPath(layout, m.layers[0]!.digest);
      const bytes = await readFile(file);
      bytes[bytes.length - 1] ^= 1;
      await writeFile(file, bytes);
    });
    const r = await runCli(['import', blob, '--config', config, '--no-notify']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /content hashes to sha256:[a-f0-9]{64} \(tampered or damaged\)/);
    assert.deepEqual(await insideFiles(), before);

    // the db's manifest changed (an annotation), the .sig renamed to the new digest: payload for another digest
    const other = await variant('other-digest', async (dir) => {
      const layout = join(dir, 'trivy-db');
      const index = await readIndex(layout);
      const db = dbEntry(index);
      const sig = sigEntry(index, db.digest);
      const manifest = JSON.parse(await readFile(blobPath(layout, db.digest), 'utf8')) as Json;
      manifest.annotations = { ...(manifest.annotations as Json), 'org.example.changed': 'yes' };
      const mbytes = Buffer.from(JSON.stringify(manifest));
      db.digest = await putBlob(layout, mbytes);
      db.size = mbytes.length;
      sig.annotations = { ...sig.annotations, [REF]: `${db.digest.replace(':', '-')}.sig` };
      await writeIndex(layout, index);
    });
    await refused(other, 'DIGEST_MISMATCH', /is for another digest, sha256:[a-f0-9]{64}/);

    // the VEX versions without the signature of their digest list
    const vexUnsigned = await variant('vex-unsigned', async (dir) => {
      await rm(join(dir, 'vex', 'SHA256SUMS.sig'));
    });
    await refused(vexUnsigned, 'UNSIGNED', /SHA256SUMS\.sig is missing: the VEX versions are unsigned/);
  });

  test('import --store --trusted-key, with no config: the unsigned export is refused, the signed one admitted', async () => {
    const store = join(work.dir, 'bare-store');
    const importBare = (dir: string, key: string) =>
      runCli(['import', dir, '--store', store, '--trusted-key', key, '--no-notify']);
    const refused = await importBare(join(work.dir, 'export-unsigned'), signer.pub);
    assert.equal(refused.code, 1, `${refused.stdout}${refused.stderr}`);
    assert.ok(refused.stderr.includes('[UNSIGNED]'), refused.stderr);
    assert.equal(existsSync(store), false, 'nothing admitted, not even the store folder');
    const missing = join(work.dir, 'missing.pub');
    const unreadable = await importBare(exportDir, missing);
    assert.equal(unreadable.code, 1, unreadable.stdout);
    assert.ok(unreadable.stderr.includes(`trusted key ${missing} cannot be read`), unreadable.stderr);
    const unknown = await importBare(exportDir, stranger.pub);
    assert.equal(unknown.code, 1, unknown.stdout);
    assert.ok(unknown.stderr.includes('[UNKNOWN_KEY]'), unknown.stderr);
    assert.equal(existsSync(store), false, 'nothing admitted');
    const ok = await importBare(exportDir, signer.pub);
    assert.equal(ok.code, 0, `${ok.stdout}${ok.stderr}`);
    assert.match(
      ok.stdout,
      new RegExp(`^trust {4}trivy-db:2 sha256:[a-f0-9]{12}… signed by ${signer.keyIdShort}`, 'm'),
    );
  });

  test('the signed export is admitted; the daemon serves it, /status and store verify name the signer', async () => {
    // without require the outcome is only reported: an unsigned db goes in, saying so
    const reportOnly = await insideConfig('report-only', [signer.pub]);
    await writeFile(
      reportOnly,
      (await readFile(reportOnly, 'utf8')).replace('require: true', 'require: false'),
    );
    const loose = await runCli([
      'import',
      join(work.dir, 'export-unsigned'),
      '--config',
      reportOnly,
      '--no-notify',
    ]);
    assert.equal(loose.code, 0, `${loose.stdout}${loose.stderr}`);
    assert.match(loose.stdout, /^trust {4}trivy-db:2 sha256:[a-f0-9]{12}… unsigned$/m);
    assert.match(
      loose.stdout,
      new RegExp(`^trust {4}trivy-java-db:1 sha256:[a-f0-9]{12}… signed by ${signer.keyIdShort}`, 'm'),
    );

    const config = await insideConfig('inside', [signer.pub]);
    const im = await runCli(['import', exportDir, '--config', config, '--no-notify']);
    assert.equal(im.code, 0, `${im.stdout}${im.stderr}`);
    for (const what of [
      'trivy-db:2',
      'trivy-java-db:1',
      'trivy-checks:1',
      'trivy-checks:2',
      'vex (SHA256SUMS)',
    ])
      assert.ok(
        im.stdout.includes(`trust    ${what}`) &&
          im.stdout.includes(`signed by ${signer.keyIdShort} (mirror.pub)`),
        `${what}: ${im.stdout}`,
      );

    const verify = await runCli(['store', 'verify', '--config', config]);
    assert.equal(verify.code, 0, `${verify.stdout}${verify.stderr}`);
    assert.match(
      verify.stdout,
      new RegExp(`trivy-db:2\\s+sha256:[a-f0-9]{12}\\s+${signer.keyIdShort} \\(mirror\\.pub\\)`),
    );

    const daemon = await startDaemon({
      args: ['run', '--config', config],
      adminUrl: `http://127.0.0.1:${adminPort}`,
    });
    try {
      await waitReady(daemon, 60_000);
      const artifacts = await eventually(
        async () => {
          const oci = ((await getStatus(daemon)).components as Record<string, Json>)['oci-sync'];
          const a = oci.artifacts as Record<string, Json>;
          return (a['trivy-db:2']?.signature as Json | undefined)?.keyFile === 'mirror.pub' && a;
        },
        30_000,
        '/status to name the signer',
      );
      const sig = artifacts['trivy-db:2']!.signature as Json;
      assert.equal(sig.keyIdShort, signer.keyIdShort);
      const status = await runCli(['status', '--config', config]);
      assert.match(
        status.stdout,
        new RegExp(`^ {2}trivy-db:2: signed by ${signer.keyIdShort} \\(mirror\\.pub\\)$`, 'm'),
      );

      // the cache dir holds the signed db
      const cacheMeta = () => readFile(join(work.dir, 'cache', 'db', 'metadata.json'), 'utf8');
      const signedMeta = await eventually(
        async () => cacheMeta().catch(() => false),
        30_000,
        'the cache dir',
      );

      // a version copied in by hand (another db, older), without a signature: not served, not populated
      const layout = join(insideState, 'oci', 'trivy-db');
      const db = dbEntry(await readIndex(layout));
      const hand = await generateArtifact({
        kind: 'trivy-db',
        dbBytes: 32 * 1024,
        seed: 'by-hand',
        updatedAt: new Date(Date.now() - 86_400_000),
        workDir: join(work.dir, 'by-hand'),
      });
      await writeArtifactToLayout(layout, '2', hand);
      const handDigest = hand.manifestDigest;
      const body = await eventually(
        async () => {
          const res = await fetch(`${daemon.adminUrl}/readyz`);
          const text = await res.text();
          return res.status === 503 && text.includes('not trusted in the store') && text;
        },
        30_000,
        '/readyz to name the untrusted version',
      );
      assert.ok(
        body.includes(
          `trivy-db:2 (the stored version ${handDigest} is not signed by a trusted key ([UNSIGNED]`,
        ),
        body,
      );
      const m = await getManifest(`http://127.0.0.1:${servePort}`, 'trivy-db', '2');
      assert.equal(m.status, 503);
      const java = await getManifest(`http://127.0.0.1:${servePort}`, 'trivy-java-db', '1');
      assert.equal(java.status, 200);
      const populate = await runJob(daemon, 'cache-populator');
      assert.equal(populate.status, 'failure');
      const part = await eventually(
        async () => {
          const cache = ((await getStatus(daemon)).components as Record<string, Json>)['cache-populator'];
          const text = JSON.stringify(cache);
          return text.includes('UNTRUSTED') && text;
        },
        15_000,
        '/status to show the cache part refused',
      );
      assert.ok(part.includes('not populated (trust.require)'), part);
      assert.equal(await cacheMeta(), signedMeta, 'the cache dir keeps the signed db');

      // importing the signed export again repairs it (the daemon is told, and serves the signed version)
      const repair = await runCli(['import', exportDir, '--config', config]);
      assert.equal(repair.code, 0, `${repair.stdout}${repair.stderr}`);
      await eventually(
        async () => (await fetch(`${daemon.adminUrl}/readyz`)).status === 200,
        30_000,
        'ready again after the signed import',
      );
      const again = await getManifest(`http://127.0.0.1:${servePort}`, 'trivy-db', '2');
      assert.equal(again.status, 200);
      assert.equal(sha256(again.bytes), db.digest);
    } finally {
      await daemon.stop();
    }
  });
});

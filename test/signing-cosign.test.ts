// Signing on admission, checked by the real cosign CLI as a user would: a daemon with `signing:` syncs
// a seeded upstream into its store, a destination registry and a static tree (nginx); `cosign verify
// --key` accepts every artifact there and on the embedded /v2/ and prints the provenance, refuses a
// copy with one byte of the artifact or of the signed payload changed; `cosign verify-blob` accepts an
// export's signed VEX list and refuses a changed one; a key others may read stops start-up.
import assert from 'node:assert/strict';
import { chmod, copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type RegistryTreeNginx,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startRegistry,
  startRegistryTreeNginx,
  writeSigningKeyPair,
} from '@trivy-mirror/fixtures';
import { type DaemonProcess, eventually, freePort, runCli, startDaemon } from './helpers/daemon-process.js';
import { goPeers, type Peers } from './helpers/go-peers.js';
import { ARTIFACT_TAGS, writeMirrorConfig } from './helpers/mirror-config.js';
import { sha256, tempDir } from './helpers/oci-e2e.js';
import { startVexServer, type VexServer } from './helpers/vex-server.js';

const KiB = 1024;
const UPDATED_AT = new Date('2026-12-01T06:00:00Z');
const NEXT_UPDATE = new Date('2026-12-01T12:00:00Z');

type Payload = {
  critical: { image: { 'docker-manifest-digest': string }; identity: { 'docker-reference': string } };
  optional: Record<string, string> | null;
};

describe('signing, checked with cosign (e2e)', { timeout: 600_000 }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let upstream: RunningRegistry;
  let dst: RunningRegistry;
  let vex: VexServer;
  let nginx: RegistryTreeNginx;
  let seeded: SeedUpstreamResult;
  let daemon: DaemonProcess;
  let peers: Peers;
  let config: string;
  let serveHost: string;
  let keyFile: string;
  let pubFile: string;

  /** cosign with Sigstore's TUF root left alone (a Rekor key set: no fetch) and only loopback reachable. */
  const cosign = (args: string[]) =>
    peers.run('cosign', args, 120_000, { SIGSTORE_REKOR_PUBLIC_KEY: pubFile });
  const verify = (ref: string) =>
    cosign([
      'verify',
      '--key',
      pubFile,
      '--insecure-ignore-tlog',
      '--allow-http-registry',
      '--allow-insecure-registry',
      ref,
    ]);
  const oras = (args: string[]) => peers.run('oras', args);

  before(async () => {
    work = await tempDir('signing-cosign');
    [upstream, dst] = await Promise.all([startRegistry(), startRegistry()]);
    vex = await startVexServer();
    seeded = await seedUpstream({
      registryUrl: upstream.url,
      prefix: 'aquasec',
      workDir: join(work.dir, 'seed'),
      dbBytes: 256 * KiB,
      javaDbBytes: 256 * KiB,
      seed: 'signing',
      updatedAt: UPDATED_AT,
      nextUpdate: NEXT_UPDATE,
    });
    ({ keyFile, pubFile } = await writeSigningKeyPair(work.dir, 'signing', 'sec1'));
    peers = await goPeers(join(work.dir, 'peers'));
    const adminPort = await freePort();
    const servePort = await freePort();
    serveHost = `127.0.0.1:${servePort}`;
    const treeDir = join(work.dir, 'tree');
    config = await writeMirrorConfig(join(work.dir, 'mirror.yaml'), {
      stateDir: join(work.dir, 'state'),
      sources: [`${upstream.host}/aquasec`],
      destinations: [`${dst.host}/mirror`],
      adminPort,
      servePort,
      publishRegistryDir: treeDir,
      vexUrl: `${vex.url}/vexhub`,
      signingKeyFile: keyFile,
    });
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    daemon = await startDaemon({ args: ['run', '--config', config], adminUrl });
    await eventually(
      async () => {
        const body = (await (await fetch(`${adminUrl}/jobs`)).json()) as {
          jobs: { id: string; lastRun?: { status: string } }[];
        };
        const done = (id: string) => body.jobs.find((j) => j.id === id)?.lastRun?.status;
        return done('oci-sync') !== undefined && done('vexhub-mirror') !== undefined;
      },
      60_000,
      'the start-up oci-sync and vexhub-mirror runs',
    );
    nginx = await startRegistryTreeNginx(treeDir);
  });

  after(async () => {
    await daemon?.stop();
    await nginx?.stop();
    await vex?.close();
    await Promise.all([upstream?.stop(), dst?.stop()]);
    await work?.remove();
  });

  test('cosign verify accepts db, java-db and checks at the destination, the embedded /v2/ and the tree, with the provenance', async () => {
    for (const nameTag of ARTIFACT_TAGS) {
      const [name, tag] = nameTag.split(':') as [string, string];
      const digest = seeded.digests[nameTag];
      assert.ok(digest, nameTag);
      for (const ref of [
        `${dst.host}/mirror/${name}@${digest}`,
        `${serveHost}/${name}@${digest}`,
        `${serveHost}/aquasec/${name}@${digest}`,
        `${nginx.treeHost}/${name}@${digest}`,
      ]) {
        const r = await verify(ref);
        assert.match(r.stderr, /The signatures were verified against the specified public key/, ref);
        const payloads = JSON.parse(r.stdout.toString()) as Payload[];
        const ours = payloads.find((p) => p.critical.image['docker-manifest-digest'] === digest);
        assert.ok(ours, `${ref}: a payload for ${digest}`);
        assert.equal(ours.critical.identity['docker-reference'], `${upstream.host}/aquasec/${name}`);
        const o = ours.optional ?? {};
        assert.equal(o.upstreamRegistry, upstream.host, ref);
        assert.equal(o.upstreamRepository, `aquasec/${name}`, ref);
        assert.equal(o.upstreamTag, tag, ref);
        assert.ok(
          Date.now() - Date.parse(o.fetchedAt ?? '') < 30 * 60_000,
          `${ref}: fetchedAt ${o.fetchedAt}`,
        );
        assert.match(o.mirrorVersion ?? '', /^\d+\.\d+\.\d+/, ref);
        if (name === 'trivy-checks') {
          assert.equal(o.updatedAt, undefined, `${ref}: checks have no metadata.json`);
        } else {
          assert.equal(
            Date.parse(o.updatedAt ?? ''),
            UPDATED_AT.getTime(),
            `${ref}: updatedAt ${o.updatedAt}`,
          );
          assert.equal(
            Date.parse(o.nextUpdate ?? ''),
            NEXT_UPDATE.getTime(),
            `${ref}: nextUpdate ${o.nextUpdate}`,
          );
        }
      }
    }
  });

  test('cosign verify refuses a copy with one byte of the artifact or of the signed payload changed', async (t) => {
    const refused = async (ref: string) => {
      const err = await verify(ref).then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(err, `cosign verify ${ref} succeeded`);
      t.diagnostic(
        err.message
          .split('\n')
          .filter((l) => /Error/.test(l))
          .join(' | '),
      );
      return err.message;
    };
    await peers.plainHttp(dst.host);
    const digest = seeded.digests['trivy-db:2'] as string;
    const sigTag = `sha256-${digest.slice(7)}.sig`;
    const copyTo = async (repo: string) => {
      await oras([
        'cp',
        '--from-plain-http',
        '--to-plain-http',
        `${dst.host}/mirror/trivy-db@${digest}`,
        `${dst.host}/${repo}:2`,
      ]);
      await oras([
        'cp',
        '--from-plain-http',
        '--to-plain-http',
        `${dst.host}/mirror/trivy-db:${sigTag}`,
        `${dst.host}/${repo}:${sigTag}`,
      ]);
      // the untouched copy verifies: what fails below fails for the changed byte
      await verify(`${dst.host}/${repo}@${digest}`);
    };

    // the artifact: its manifest with one byte changed, the signature of the original beside it
    await copyTo('tampered-artifact');
    const manifest = (
      await oras(['manifest', 'fetch', '--plain-http', `${dst.host}/mirror/trivy-db@${digest}`])
    ).stdout;
    const changed = Buffer.from(manifest);
    const at = changed.indexOf('"schemaVersion":2');
    assert.ok(at >= 0);
    changed[at + '"schemaVersion":'.length - 3] = 'N'.charCodeAt(0); // schemaVersion → schemaVersioN: valid JSON
    const changedDigest = sha256(changed);
    const file = join(work.dir, 'changed-manifest.json');
    await writeFile(file, changed);
    const mediaType = (JSON.parse(manifest.toString()) as { mediaType: string }).mediaType;
    await oras([
      'manifest',
      'push',
      '--plain-http',
      '--media-type',
      mediaType,
      `${dst.host}/tampered-artifact:changed`,
      file,
    ]);
    await oras([
      'cp',
      '--from-plain-http',
      '--to-plain-http',
      `${dst.host}/mirror/trivy-db:${sigTag}`,
      `${dst.host}/tampered-artifact:sha256-${changedDigest.slice(7)}.sig`,
    ]);
    assert.match(
      await refused(`${dst.host}/tampered-artifact@${changedDigest}`),
      /no matching signatures: invalid or missing digest in claim/,
    );

    // the payload: one byte of it changed, the signature annotation as it was
    await copyTo('tampered-payload');
    const sigManifest = JSON.parse(
      (
        await oras(['manifest', 'fetch', '--plain-http', `${dst.host}/mirror/trivy-db:${sigTag}`])
      ).stdout.toString(),
    ) as { layers: { digest: string; size: number }[] };
    const layer = sigManifest.layers[0]!;
    const payload = Buffer.from(
      (
        await oras([
          'blob',
          'fetch',
          '--plain-http',
          '--output',
          '-',
          `${dst.host}/mirror/trivy-db@${layer.digest}`,
        ])
      ).stdout,
    );
    const p = payload.indexOf('"fetchedAt":"') + '"fetchedAt":"'.length;
    payload[p + 3] = payload[p + 3] === 0x39 ? 0x38 : payload[p + 3]! + 1; // one digit of the year
    const payloadFile = join(work.dir, 'changed-payload.json');
    await writeFile(payloadFile, payload);
    await oras(['blob', 'push', '--plain-http', `${dst.host}/tampered-payload`, payloadFile]);
    const forged = { ...sigManifest, layers: [{ ...layer, digest: sha256(payload), size: payload.length }] };
    const forgedFile = join(work.dir, 'forged-signature.json');
    await writeFile(forgedFile, JSON.stringify(forged));
    await oras(['manifest', 'push', '--plain-http', `${dst.host}/tampered-payload:${sigTag}`, forgedFile]);
    assert.match(
      await refused(`${dst.host}/tampered-payload@${digest}`),
      /no matching signatures: invalid signature when validating ASN\.1 encoded signature/,
    );
  });

  test('cosign verify-blob accepts the VEX list of an export and refuses a changed one', async () => {
    const out = join(work.dir, 'export');
    const e = await runCli(['export', '--out', out, '--config', config]);
    assert.equal(e.code, 0, `${e.stdout}\n${e.stderr}`);
    assert.match(e.stdout, /^listed\s+vex\/SHA256SUMS signed \(vex\/SHA256SUMS\.sig\)$/m);
    const list = join(out, 'vex', 'SHA256SUMS');
    const signature = join(out, 'vex', 'SHA256SUMS.sig');
    const blob = (file: string) =>
      cosign(['verify-blob', '--key', pubFile, '--insecure-ignore-tlog', '--signature', signature, file]);
    const ok = await blob(list);
    assert.match(ok.stderr, /Verified OK/);
    // the list names every exported VEX file with its digest
    const lines = (await readFile(list, 'utf8')).trim().split('\n');
    assert.ok(lines.length >= 3, lines.join('\n'));
    for (const line of lines) {
      const [hex, rel] = line.split('  ') as [string, string];
      assert.equal(sha256(await readFile(join(out, 'vex', rel))), `sha256:${hex}`, rel);
    }
    assert.ok(lines.some((l) => l.endsWith('  vexhub/version.json')));
    const changed = join(work.dir, 'SHA256SUMS.changed');
    const bytes = await readFile(list);
    bytes[0] = bytes[0] === 0x61 ? 0x62 : 0x61;
    await writeFile(changed, bytes);
    await assert.rejects(blob(changed), (err: Error) => {
      assert.match(err.message, /Error: .*invalid signature/);
      return true;
    });
    // the OCI layouts of the export carry the signatures as their sha256-<hex>.sig tags
    const index = JSON.parse(await readFile(join(out, 'trivy-db', 'index.json'), 'utf8')) as {
      manifests: { annotations?: Record<string, string> }[];
    };
    const tags = index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']);
    assert.ok(tags.includes(`sha256-${seeded.digests['trivy-db:2']?.slice(7)}.sig`), tags.join(', '));
  });

  test("import carries the signatures: cosign verify accepts every artifact on an inside daemon's /v2/", async () => {
    const out = join(work.dir, 'export');
    const admin = await freePort();
    const serve = await freePort();
    const insideConfig = join(work.dir, 'inside.yaml');
    await writeFile(
      insideConfig,
      [
        `stateDir: ${join(work.dir, 'inside')}`,
        `admin: { listen: 127.0.0.1:${admin} }`,
        `serve: { listen: 127.0.0.1:${serve}, publicUrl: http://127.0.0.1:${serve} }`,
        'log: { level: info, format: json }',
        'plugins:',
        '  auth-providers: { dockerConfig: false }',
        '  oci-sync: { schedule: "0 0 1 1 *", sources: [] }',
        '  vexhub-mirror: { enabled: false }',
        '',
      ].join('\n'),
    );
    const im = await runCli(['import', out, '--config', insideConfig]);
    assert.equal(im.code, 0, `${im.stdout}\n${im.stderr}`);
    // store ls: one signature per version, no .sig tag listed as a version of its own
    const ls = await runCli(['store', 'ls', '--config', insideConfig]);
    assert.equal(ls.code, 0, ls.stderr);
    const lines = ls.stdout.trim().split('\n');
    assert.match(lines[0]!, /^REPOSITORY +TAG +CURRENT +DIGEST +SIZE +STORED +SIGNATURES$/);
    assert.ok(!ls.stdout.includes('.sig'), ls.stdout);
    for (const nameTag of ARTIFACT_TAGS) {
      const [name, tag] = nameTag.split(':') as [string, string];
      const row = lines.find(
        (l) => l.startsWith(`${name} `) && l.includes(seeded.digests[nameTag]!.slice(0, 19)),
      );
      assert.match(row ?? '', new RegExp(`^${name} +${tag} +current +sha256:\\S+ .* 1$`), ls.stdout);
    }
    const inside = await startDaemon({
      args: ['run', '--config', insideConfig],
      adminUrl: `http://127.0.0.1:${admin}`,
    });
    try {
      for (const nameTag of ARTIFACT_TAGS) {
        const [name] = nameTag.split(':') as [string];
        const digest = seeded.digests[nameTag];
        const r = await verify(`127.0.0.1:${serve}/${name}@${digest}`);
        const payloads = JSON.parse(r.stdout.toString()) as Payload[];
        assert.ok(
          payloads.some(
            (p) =>
              p.critical.image['docker-manifest-digest'] === digest &&
              p.optional?.upstreamRegistry === upstream.host,
          ),
          nameTag,
        );
      }
    } finally {
      await inside.stop();
    }
  });

  test('a signing key group or others may read stops start-up, naming the file, its mode and the chmod', async () => {
    const open = join(work.dir, 'open.key');
    await copyFile(keyFile, open);
    await chmod(open, 0o640);
    const badConfig = await writeMirrorConfig(join(work.dir, 'open.yaml'), {
      stateDir: join(work.dir, 'state-open'),
      sources: [`${upstream.host}/aquasec`],
      adminPort: await freePort(),
      vexUrl: `${vex.url}/vexhub`,
      signingKeyFile: open,
    });
    for (const args of [
      ['run', '--config', badConfig],
      ['sync', '--config', badConfig],
      ['config', 'check', '--config', badConfig],
    ]) {
      const r = await runCli(args, { timeoutMs: 60_000 });
      const text = `${r.stdout}\n${r.stderr}`;
      assert.notEqual(r.code, 0, `${args[0]}: ${text}`);
      assert.match(text, /signing\.keyFile/, args[0]);
      assert.ok(text.includes(`signing key ${open} has mode 0640`), `${args[0]}: ${text}`);
      assert.ok(text.includes(`chmod 600 ${open}`), `${args[0]}: ${text}`);
    }
    // nothing was stored unsigned
    assert.deepEqual(await readdir(join(work.dir, 'state-open', 'oci')).catch(() => []), []);
  });
});

// Who signed a stored version, against the trusted keys, and what the inside daemon does with one no
// trusted key signed: recorded, and with trust.require refused (UNTRUSTED) and named for /readyz.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  Annotation,
  loadSigningKey,
  loadTrustedKey,
  OciLayout,
  type SigningKey,
  signManifest,
  type TrustedKey,
} from '@trivy-mirror/oci';
import { errorCode, type Trust } from '@trivy-mirror/plugin-api';
import { ServedTrust } from '../src/trust/served-trust.js';
import type { ArtifactTagStatus } from '../src/sync/sync-state.js';
import { versionTrust } from '../src/trust/version-trust.js';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

async function keyFiles(dir: string, name: string): Promise<{ key: SigningKey; trusted: TrustedKey }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await writeFile(join(dir, `${name}.key`), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  await writeFile(join(dir, `${name}.pub`), publicKey.export({ type: 'spki', format: 'pem' }));
  return {
    key: await loadSigningKey(join(dir, `${name}.key`)),
    trusted: await loadTrustedKey(join(dir, `${name}.pub`)),
  };
}

/** Stores a (content-free) manifest tagged `tag`, signed by `key` when given; returns its digest. */
async function storeVersion(layout: OciLayout, tag: string, key?: SigningKey): Promise<string> {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, tag }));
  const digest = await layout.blobWriteBytes(bytes);
  const entries = [
    { mediaType: MANIFEST, digest, size: bytes.length, annotations: { [Annotation.RefName]: tag } },
  ];
  if (key) {
    const art = signManifest(key, { dockerReference: 'example.org/trivy-db', manifestDigest: digest });
    for (const b of [...art.layers.map((l) => l.bytes), art.config]) await layout.blobWriteBytes(b);
    await layout.blobWriteBytes(art.manifest);
    entries.push({ ...art.manifestDescriptor, annotations: { [Annotation.RefName]: art.tag } });
  }
  await layout.indexUpdate((m) => [
    ...m.filter((e) => e.annotations?.[Annotation.RefName] !== tag),
    ...entries,
  ]);
  return digest;
}

const trustOf = (keys: TrustedKey[], require: boolean): Trust => ({
  enabled: true,
  require,
  files: keys.map((k) => k.file),
  keys: async () => keys,
});

describe('versionTrust and ServedTrust', () => {
  let dir: string;
  let layout: OciLayout;
  let mirror: Awaited<ReturnType<typeof keyFiles>>;
  let stranger: Awaited<ReturnType<typeof keyFiles>>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'version-trust-'));
    layout = await OciLayout.open(join(dir, 'trivy-db'), { create: true });
    mirror = await keyFiles(dir, 'mirror');
    stranger = await keyFiles(dir, 'stranger');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the signer by a trusted key; unknown key naming the id; unsigned', async () => {
    const signed = await storeVersion(layout, '2', mirror.key);
    const ok = await versionTrust(layout, 'trivy-db:2', signed, [stranger.trusted, mirror.trusted]);
    assert.deepEqual(ok.signer, {
      keyId: mirror.trusted.keyId,
      keyIdShort: mirror.trusted.keyIdShort,
      keyFile: 'mirror.pub',
    });
    const unknown = await versionTrust(layout, 'trivy-db:2', signed, [stranger.trusted]);
    assert.equal(unknown.failure?.code, 'UNKNOWN_KEY');
    assert.ok(unknown.failure?.message.includes(mirror.trusted.keyIdShort), unknown.failure?.message);
    const unsigned = await storeVersion(layout, '3');
    assert.equal(
      (await versionTrust(layout, 'trivy-db:3', unsigned, [mirror.trusted])).failure?.code,
      'UNSIGNED',
    );
  });

  test('require refuses an untrusted served version (UNTRUSTED, named for /readyz) until a trusted one replaces it', async () => {
    const served = new ServedTrust(trustOf([mirror.trusted], true));
    const status: ArtifactTagStatus = { artifact: 'trivy-db', tag: '4' };
    const unsigned = await storeVersion(layout, '4');
    await assert.rejects(
      served.gate(layout, 'trivy-db', '4', unsigned, status),
      (err: unknown) => errorCode(err) === 'UNTRUSTED',
    );
    assert.equal(status.signature?.failure, 'UNSIGNED');
    assert.equal(served.refusedOf('trivy-db', '4')?.digest, unsigned);
    assert.match(
      served.describeRefused()[0] ?? '',
      new RegExp(
        `^trivy-db:4 \\(the stored version ${unsigned} is not signed by a trusted key \\(\\[UNSIGNED\\]`,
      ),
    );
    // a sync's own version is only recorded
    await served.gate(layout, 'trivy-db', '4', unsigned, status, { recordOnly: true });
    assert.equal(served.refusedOf('trivy-db', '4'), undefined);
    const signed = await storeVersion(layout, '4', mirror.key);
    await served.gate(layout, 'trivy-db', '4', signed, status);
    assert.equal(status.signature?.keyFile, 'mirror.pub');
    assert.deepEqual(served.describeRefused(), []);
    // without require: recorded, never refused
    const loose = new ServedTrust(trustOf([mirror.trusted], false));
    await loose.gate(layout, 'trivy-db', '3', await storeVersion(layout, '3'), status);
    assert.equal(status.signature?.failure, 'UNSIGNED');
    // no trust section: nothing checked, nothing recorded
    const none: ArtifactTagStatus = { artifact: 'trivy-db', tag: '3' };
    await new ServedTrust(undefined).gate(layout, 'trivy-db', '3', unsigned, none);
    assert.equal(none.signature, undefined);
  });
});

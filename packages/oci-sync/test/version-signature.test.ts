// Signing on admission in the oci-sync job, against real registries: the stored version's
// sha256-<hex>.sig verifies with the key and carries the provenance, travels to the destination,
// is not signed twice, keeps the old key's signature on a key rotation, and leaves with its version.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  pushArtifact,
  type RunningRegistry,
  startRegistry,
  writeSigningKeyPair,
} from '@trivy-mirror/fixtures';
import {
  Annotation,
  loadSigningKey,
  loadTrustedKey,
  OciLayout,
  parseReference,
  parseSignatureManifest,
  type SigningKey,
  signatureTag,
  type TrustedKey,
  verifySignatureArtifact,
} from '@trivy-mirror/oci';
import type { Signing } from '@trivy-mirror/plugin-api';
import { listStore } from '../src/store-commands/store-inventory.js';
import { createHarness, type Harness, smallDb } from './sync-harness.js';

async function keyPair(dir: string, name: string): Promise<{ signer: SigningKey; trusted: TrustedKey }> {
  const { keyFile, pubFile } = await writeSigningKeyPair(dir, name);
  return { signer: await loadSigningKey(keyFile), trusted: await loadTrustedKey(pubFile) };
}

const signingWith = (key: SigningKey): Signing => ({
  enabled: true,
  source: `file ${key.file}`,
  mirrorVersion: '9.9.9',
  key: async () => key,
});

describe('oci-sync signs what it stores', () => {
  let work: string;
  let upstream: RunningRegistry;
  let dest: RunningRegistry;
  let a: { signer: SigningKey; trusted: TrustedKey };
  let b: { signer: SigningKey; trusted: TrustedKey };
  const harnesses: Harness[] = [];
  const config = () => ({
    sources: [`${upstream.host}/aquasec`],
    destinations: [`${dest.host}/trivy`],
    artifacts: [{ name: 'trivy-db', tags: ['2'] }],
    keepVersions: 1,
    blobGraceMinutes: 0,
  });
  const harness = async (key: SigningKey) => {
    const h = await createHarness(join(work, 'state'), config(), signingWith(key));
    harnesses.push(h);
    return h;
  };
  const layout = () => OciLayout.open(join(work, 'state', 'oci', 'trivy-db'));
  const verifyStored = async (digest: string, trusted: TrustedKey[]) => {
    const l = await layout();
    const sig = await l.manifestGet(signatureTag(digest));
    return verifySignatureArtifact({
      manifestDigest: digest,
      signatureManifest: sig?.bytes,
      readBlob: async (d) => readFile(l.blobPath(d.digest)),
      trusted,
    });
  };
  const destSignature = async (h: Harness, digest: string) =>
    h.client.manifestGet(parseReference(`${dest.host}/trivy/trivy-db:${signatureTag(digest)}`));

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'oci-sync-signing-'));
    [upstream, dest] = await Promise.all([startRegistry(), startRegistry()]);
    a = await keyPair(work, 'a');
    b = await keyPair(work, 'b');
  });

  after(async () => {
    for (const h of harnesses) await h.close();
    await Promise.all([upstream?.stop(), dest?.stop()]);
    await rm(work, { recursive: true, force: true });
  });

  let first: string;

  test('the stored version is signed with the provenance, and the signature reaches the destination', async () => {
    const db = await smallDb(join(work, 'gen-1'), 'sign-1', new Date('2026-11-20T00:00:00Z'));
    await pushArtifact(upstream.url, 'aquasec/trivy-db', '2', db);
    first = db.manifestDigest;
    const h = await harness(a.signer);
    const outcome = await h.run();
    assert.equal(outcome.status, 'success', JSON.stringify(outcome));
    const v = await verifyStored(first, [b.trusted, a.trusted]);
    assert.equal(v.key.keyId, a.trusted.keyId);
    assert.equal(v.payload.critical.identity['docker-reference'], `${upstream.host}/aquasec/trivy-db`);
    assert.deepEqual(
      { ...v.provenance, fetchedAt: undefined },
      {
        upstreamRegistry: upstream.host,
        upstreamRepository: 'aquasec/trivy-db',
        upstreamTag: '2',
        fetchedAt: undefined,
        updatedAt: '2026-11-20T00:00:00Z',
        nextUpdate: '2026-11-21T00:00:00Z',
        mirrorVersion: '9.9.9',
      },
    );
    const entry = (await (await layout()).index()).manifests.find((m) => m.digest === first);
    assert.equal(v.provenance.fetchedAt, entry?.annotations?.['io.github.trivy-mirror.stored-at']);
    const stored = await (await layout()).manifestGet(signatureTag(first));
    const pushed = await destSignature(h, first);
    assert.equal(pushed.descriptor.digest, stored?.descriptor.digest);
  });

  test('a second run signs nothing again', async () => {
    const before = (await (await layout()).manifestGet(signatureTag(first)))?.descriptor.digest;
    const h = await harness(a.signer);
    await h.run();
    assert.equal((await (await layout()).manifestGet(signatureTag(first)))?.descriptor.digest, before);
    assert.ok(!h.logs.some((l) => l.includes('signed stored version')), 'no new signature');
  });

  test('a new key adds its signature beside the old one, at the destination too', async () => {
    const h = await harness(b.signer);
    await h.run();
    assert.equal((await verifyStored(first, [a.trusted])).key.keyId, a.trusted.keyId);
    assert.equal((await verifyStored(first, [b.trusted])).key.keyId, b.trusted.keyId);
    const pushed = await destSignature(h, first);
    assert.equal(parseSignatureManifest(pushed.bytes).length, 2);
  });

  test('a torn index.json is rebuilt with the signature, also where no key could sign again', async () => {
    const l = await layout();
    const sigBefore = (await l.manifestGet(signatureTag(first)))?.descriptor.digest;
    await writeFile(join(l.dir, 'index.json'), '{"schemaVersion":2,"manifests":[{"mediaType":');
    const h = await createHarness(join(work, 'state'), config()); // no signing: only the blobs can tell
    harnesses.push(h);
    const outcome = await h.run();
    assert.equal(outcome.status, 'skipped', JSON.stringify(outcome)); // rebuilt: up to date, nothing fetched
    assert.ok(
      h.logs.some((line) => line.includes('index.json was damaged: rebuilt from the blobs')),
      'the rebuild is logged',
    );
    const after = await layout();
    assert.equal((await after.manifestGet(signatureTag(first)))?.descriptor.digest, sigBefore);
    assert.equal((await verifyStored(first, [a.trusted])).key.keyId, a.trusted.keyId);
    assert.equal((await verifyStored(first, [b.trusted])).key.keyId, b.trusted.keyId);
  });

  test("store ls counts each version's signatures and lists no .sig tag as a version", async () => {
    const rows = await listStore(join(work, 'state', 'oci'));
    const db = rows.filter((r) => r.repository === 'trivy-db');
    assert.deepEqual(
      db.map((r) => [r.tag, r.current, r.digest, r.signatures]),
      [['2', true, first, 2]],
    );
  });

  test('the other daemon of an HA pair (own store, same key) leaves the signature at the destination alone', async () => {
    const digest = first;
    const there = (await destSignature(harnesses[0]!, digest)).descriptor.digest;
    const peer = await createHarness(join(work, 'state-peer'), config(), signingWith(a.signer));
    harnesses.push(peer);
    const outcome = await peer.run();
    assert.equal(outcome.status, 'success', JSON.stringify(outcome));
    const own = await (await OciLayout.open(join(work, 'state-peer', 'oci', 'trivy-db'))).manifestGet(
      signatureTag(digest),
    );
    assert.notEqual(own?.descriptor.digest, there, 'the peer signed on its own');
    assert.equal((await destSignature(peer, digest)).descriptor.digest, there);
  });

  test('a dropped version takes its signature with it', async () => {
    const db = await smallDb(join(work, 'gen-2'), 'sign-2', new Date('2026-11-21T00:00:00Z'));
    await pushArtifact(upstream.url, 'aquasec/trivy-db', '2', db);
    const h = await harness(a.signer);
    const outcome = await h.run();
    assert.equal(outcome.status, 'success', JSON.stringify(outcome));
    await verifyStored(db.manifestDigest, [a.trusted]);
    const tags = (await (await layout()).index()).manifests.map((m) => m.annotations?.[Annotation.RefName]);
    assert.deepEqual(tags.sort(), ['2', signatureTag(db.manifestDigest)].sort());
  });
});

import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  buildSignatureArtifact,
  isSignatureError,
  loadSigningKey,
  loadTrustedKey,
  loadTrustedKeys,
  parseSignatureManifest,
  parseSimpleSigningPayload,
  SignatureErrorCode,
  type SigningKey,
  sha256Digest,
  signatureTag,
  signBlob,
  signedDigestOfTag,
  signManifest,
  simpleSigningPayload,
  type TrustedKey,
  verifyBlob,
  verifySignatureArtifact,
} from '@trivy-mirror/oci';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
let dir: string;

async function keyFile(name: string, key: KeyObject, type: 'pkcs8' | 'sec1' | 'spki', mode = 0o600) {
  const file = join(dir, name);
  const pem = type === 'spki' ? key.export({ type, format: 'pem' }) : key.export({ type, format: 'pem' });
  await writeFile(file, pem);
  await chmod(file, mode);
  return file;
}

async function pair(name: string): Promise<{ signer: SigningKey; trusted: TrustedKey }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const signer = await loadSigningKey(await keyFile(`${name}.key`, privateKey, 'pkcs8'));
  const trusted = await loadTrustedKey(await keyFile(`${name}.pub`, publicKey, 'spki'));
  return { signer, trusted };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'signing-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('keys', () => {
  test('a P-256 key loads from PKCS#8 and SEC1 with the same key id as its public key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const p8 = await loadSigningKey(await keyFile('p8.key', privateKey, 'pkcs8'));
    const sec1 = await loadSigningKey(await keyFile('sec1.key', privateKey, 'sec1'));
    const pub = await loadTrustedKey(await keyFile('k.pub', publicKey, 'spki'));
    assert.match(p8.keyId, /^sha256:[a-f0-9]{64}$/);
    assert.equal(p8.keyId, sec1.keyId);
    assert.equal(p8.keyId, pub.keyId);
    assert.equal(pub.keyIdShort, pub.keyId.slice(7, 23));
    assert.equal(pub.file, join(dir, 'k.pub'));
    assert.match(p8.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
  });

  test('a key file group or others may read is refused, naming the file, mode and the chmod', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    for (const mode of [0o640, 0o604, 0o660]) {
      const file = await keyFile(`open-${mode.toString(8)}.key`, privateKey, 'pkcs8', mode);
      await assert.rejects(loadSigningKey(file), (err) => {
        assert.ok(isSignatureError(err, SignatureErrorCode.SIGNING_KEY_PERMISSIONS));
        assert.ok(err.message.includes(file));
        assert.ok(err.message.includes(`0${mode.toString(8)}`));
        assert.ok(err.message.includes(`chmod 600 ${file}`));
        return true;
      });
    }
  });

  test('keys of other curves or types are refused', async () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    for (const [name, key] of [
      ['p384', p384],
      ['rsa', rsa],
    ] as const) {
      await assert.rejects(loadSigningKey(await keyFile(`${name}.key`, key.privateKey, 'pkcs8')), (err) => {
        assert.ok(isSignatureError(err, SignatureErrorCode.SIGNING_KEY_INVALID));
        assert.match(err.message, /not ECDSA P-256/);
        return true;
      });
      await assert.rejects(loadTrustedKey(await keyFile(`${name}.pub`, key.publicKey, 'spki')), (err) =>
        isSignatureError(err, SignatureErrorCode.TRUSTED_KEY_INVALID),
      );
    }
    const garbage = join(dir, 'garbage.key');
    await writeFile(garbage, 'not a key', { mode: 0o600 });
    await assert.rejects(loadSigningKey(garbage), (err) =>
      isSignatureError(err, SignatureErrorCode.SIGNING_KEY_INVALID),
    );
    await assert.rejects(loadSigningKey(join(dir, 'missing.key')), (err) =>
      isSignatureError(err, SignatureErrorCode.SIGNING_KEY_INVALID),
    );
  });

  test('a private key given as a trusted key is refused; the same key twice is kept once', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await assert.rejects(loadTrustedKey(await keyFile('priv-as-pub.pem', privateKey, 'pkcs8')), (err) => {
      assert.ok(isSignatureError(err, SignatureErrorCode.TRUSTED_KEY_INVALID));
      assert.match(err.message, /private key/);
      return true;
    });
    const a = await keyFile('a.pub', publicKey, 'spki');
    const b = await keyFile('b.pub', publicKey, 'spki');
    assert.equal((await loadTrustedKeys([a, b])).length, 1);
  });
});

describe('payload and artifact', () => {
  test('the payload is the simple-signing JSON cosign writes', () => {
    assert.equal(
      simpleSigningPayload('ghcr.io/aquasecurity/trivy-db', A).toString(),
      `{"critical":{"identity":{"docker-reference":"ghcr.io/aquasecurity/trivy-db"},"image":{"docker-manifest-digest":"${A}"},"type":"cosign container image signature"},"optional":null}`,
    );
    const withClaims = simpleSigningPayload('r/x', A, { z: '1', a: '2' });
    assert.match(withClaims.toString(), /"optional":\{"a":"2","z":"1"\}\}$/);
    assert.deepEqual(parseSimpleSigningPayload(withClaims).optional, { a: '2', z: '1' });
    assert.throws(
      () => parseSimpleSigningPayload(Buffer.from('{"critical":{"type":"other"}}')),
      (err) => isSignatureError(err, SignatureErrorCode.SIGNATURE_INVALID),
    );
  });

  test('tags: sha256-<hex>.sig and back', () => {
    assert.equal(signatureTag(A), `sha256-${'a'.repeat(64)}.sig`);
    assert.equal(signedDigestOfTag(signatureTag(A)), A);
    assert.equal(signedDigestOfTag('2'), undefined);
    assert.throws(() => signatureTag('sha256:abc'));
  });

  test('the artifact is laid out as cosign v2 stores it and parses back', async () => {
    const { signer } = await pair('layout');
    const art = signManifest(signer, { dockerReference: 'r/x', manifestDigest: A, optional: { k: 'v' } });
    const manifest = JSON.parse(art.manifest.toString());
    assert.deepEqual(Object.keys(manifest), ['schemaVersion', 'mediaType', 'config', 'layers']);
    assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json');
    const [layer] = art.layers;
    assert.equal(layer?.descriptor.mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
    assert.equal(layer?.descriptor.digest, sha256Digest(layer?.bytes ?? Buffer.alloc(0)));
    assert.equal(
      art.config.toString(),
      `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["${layer?.descriptor.digest}"]},"config":{}}`,
    );
    assert.equal(art.manifestDescriptor.digest, sha256Digest(art.manifest));
    const [parsed] = parseSignatureManifest(art.manifest);
    assert.equal(parsed?.signature, layer?.descriptor.annotations?.['dev.cosignproject.cosign/signature']);
    assert.equal(parsed?.keyIdHint, signer.keyId);
    assert.throws(
      () => parseSignatureManifest(Buffer.from('{"layers":[]}')),
      (err) => isSignatureError(err, SignatureErrorCode.SIGNATURE_INVALID),
    );
  });
});

describe('verification', () => {
  let ours: { signer: SigningKey; trusted: TrustedKey };
  let theirs: { signer: SigningKey; trusted: TrustedKey };
  before(async () => {
    ours = await pair('ours');
    theirs = await pair('theirs');
  });

  function blobs(art: { layers: { bytes: Buffer; descriptor: { digest: string } }[] }) {
    return async (d: { digest: string }) => {
      const found = art.layers.find((l) => l.descriptor.digest === d.digest);
      if (!found) throw new Error(`no blob ${d.digest}`);
      return found.bytes;
    };
  }

  test('a signature by a trusted key for this digest names the key and the provenance', async () => {
    const art = signManifest(ours.signer, {
      dockerReference: 'r/x',
      manifestDigest: A,
      optional: { fetched: 't' },
    });
    const v = await verifySignatureArtifact({
      manifestDigest: A,
      signatureManifest: art.manifest,
      readBlob: blobs(art),
      trusted: [theirs.trusted, ours.trusted],
    });
    assert.equal(v.key.keyId, ours.trusted.keyId);
    assert.equal(v.key.file, ours.trusted.file);
    assert.deepEqual(v.provenance, { fetched: 't' });
  });

  async function code(options: Partial<Parameters<typeof verifySignatureArtifact>[0]>) {
    try {
      await verifySignatureArtifact({
        manifestDigest: A,
        signatureManifest: undefined,
        readBlob: async () => Buffer.alloc(0),
        trusted: [ours.trusted],
        ...options,
      });
    } catch (err) {
      assert.ok(isSignatureError(err), String(err));
      return err.code;
    }
    return 'verified';
  }

  test('each failure has its code', async () => {
    assert.equal(await code({ signatureManifest: undefined }), SignatureErrorCode.UNSIGNED);
    const byThem = signManifest(theirs.signer, { dockerReference: 'r/x', manifestDigest: A });
    assert.equal(
      await code({ signatureManifest: byThem.manifest, readBlob: blobs(byThem) }),
      SignatureErrorCode.UNKNOWN_KEY,
    );
    const forB = signManifest(ours.signer, { dockerReference: 'r/x', manifestDigest: B });
    assert.equal(
      await code({ signatureManifest: forB.manifest, readBlob: blobs(forB) }),
      SignatureErrorCode.DIGEST_MISMATCH,
    );

    // One byte of the payload changed, the manifest rebuilt around it (so its digests agree).
    const good = signManifest(ours.signer, { dockerReference: 'r/x', manifestDigest: A });
    const [layer] = good.layers;
    assert.ok(layer);
    const changed = Buffer.from(layer.bytes);
    changed[changed.length - 3] ^= 1;
    const forged = buildSignatureArtifact(A, [
      {
        payload: changed,
        signature: layer.descriptor.annotations?.['dev.cosignproject.cosign/signature'] ?? '',
        keyIdHint: ours.signer.keyId,
      },
    ]);
    assert.equal(
      await code({ signatureManifest: forged.manifest, readBlob: blobs(forged) }),
      SignatureErrorCode.BAD_SIGNATURE,
    );
    // The payload blob changed under an unchanged manifest.
    assert.equal(
      await code({ signatureManifest: good.manifest, readBlob: async () => changed }),
      SignatureErrorCode.BAD_SIGNATURE,
    );
    assert.equal(await code({ signatureManifest: good.manifest, readBlob: blobs(good) }), 'verified');
  });
});

describe('blobs', () => {
  test('sign-blob signatures verify, and not after a change or with another key', async () => {
    const { signer, trusted } = await pair('blob');
    const other = await pair('blob-other');
    const data = Buffer.from('a list of digests\n');
    const sig = signBlob(signer, data);
    assert.match(sig, /^[A-Za-z0-9+/]+=*$/);
    assert.equal(verifyBlob(data, `${sig}\n`, [other.trusted, trusted]).keyId, trusted.keyId);
    assert.throws(
      () => verifyBlob(Buffer.from('a list of digests!\n'), sig, [trusted], 'LIST'),
      (err) => isSignatureError(err, SignatureErrorCode.BAD_SIGNATURE) && err.message.startsWith('LIST'),
    );
    assert.throws(
      () => verifyBlob(data, sig, [other.trusted]),
      (err) => isSignatureError(err),
    );
    assert.throws(
      () => verifyBlob(data, 'not base64!', [trusted]),
      (err) => isSignatureError(err),
    );
  });
});

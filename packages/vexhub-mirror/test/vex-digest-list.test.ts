// The export's VEX digest list: written with sha256sum's format, signed as `cosign sign-blob` does,
// and checked file by file; every way it can fail has its code.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  isSignatureError,
  loadSigningKey,
  loadTrustedKey,
  SignatureErrorCode,
  type SigningKey,
  type TrustedKey,
} from '@trivy-mirror/oci';
import { verifyVexDigestList, writeVexDigestList } from '../src/index.js';

describe('VEX digest list', () => {
  let work: string;
  let signer: SigningKey;
  let trusted: TrustedKey;
  let other: TrustedKey;

  async function pair(name: string) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await writeFile(join(work, `${name}.key`), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    await writeFile(join(work, `${name}.pub`), publicKey.export({ type: 'spki', format: 'pem' }));
    return {
      signer: await loadSigningKey(join(work, `${name}.key`)),
      trusted: await loadTrustedKey(join(work, `${name}.pub`)),
    };
  }

  async function exportTree(name: string): Promise<string> {
    const out = join(work, name);
    await mkdir(join(out, 'vex', 'vexhub'), { recursive: true });
    await mkdir(join(out, 'vex', 'other'), { recursive: true });
    await writeFile(join(out, 'vex', 'vexhub', 'archive.zip'), 'zip bytes');
    await writeFile(join(out, 'vex', 'vexhub', 'version.json'), '{"v":1}');
    await writeFile(join(out, 'vex', 'other', 'archive.tar.gz'), 'tar bytes');
    return out;
  }

  async function code(vexDir: string, keys: TrustedKey[]): Promise<string> {
    try {
      await verifyVexDigestList(vexDir, keys);
      return 'verified';
    } catch (err) {
      assert.ok(isSignatureError(err), String(err));
      return err.code;
    }
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'vex-digest-list-'));
    ({ signer, trusted } = await pair('a'));
    other = (await pair('b')).trusted;
  });
  after(() => rm(work, { recursive: true, force: true }));

  test('lists every file in sha256sum format, signed; it verifies and names the key', async () => {
    const out = await exportTree('ok');
    const report = await writeVexDigestList(out, signer);
    assert.deepEqual(report, { files: 3, signedBy: signer.keyId });
    const list = await readFile(join(out, 'vex', 'SHA256SUMS'), 'utf8');
    assert.match(
      list,
      /^[a-f0-9]{64} {2}other\/archive\.tar\.gz\n[a-f0-9]{64} {2}vexhub\/archive\.zip\n[a-f0-9]{64} {2}vexhub\/version\.json\n$/,
    );
    const v = await verifyVexDigestList(join(out, 'vex'), [other, trusted]);
    assert.equal(v.key.keyId, trusted.keyId);
    assert.equal(v.files.size, 3);
  });

  test('a changed, added or removed file, a changed list or another key each fail with their code', async () => {
    const out = await exportTree('bad');
    await writeVexDigestList(out, signer);
    const vex = join(out, 'vex');
    assert.equal(await code(vex, [other]), SignatureErrorCode.BAD_SIGNATURE);
    await writeFile(join(vex, 'vexhub', 'version.json'), '{"v":2}');
    assert.equal(await code(vex, [trusted]), SignatureErrorCode.DIGEST_MISMATCH);
    await writeFile(join(vex, 'vexhub', 'version.json'), '{"v":1}');
    assert.equal(await code(vex, [trusted]), 'verified');
    await writeFile(join(vex, 'vexhub', 'extra.json'), '{}');
    assert.equal(await code(vex, [trusted]), SignatureErrorCode.DIGEST_MISMATCH);
    await rm(join(vex, 'vexhub', 'extra.json'));
    await rm(join(vex, 'other', 'archive.tar.gz'));
    assert.equal(await code(vex, [trusted]), SignatureErrorCode.DIGEST_MISMATCH);
    const list = await readFile(join(vex, 'SHA256SUMS'));
    list[0] = list[0] === 0x61 ? 0x62 : 0x61;
    await writeFile(join(vex, 'SHA256SUMS'), list);
    assert.equal(await code(vex, [trusted]), SignatureErrorCode.BAD_SIGNATURE);
  });

  test('without a key the list is unsigned: an old signature goes, and verification says UNSIGNED', async () => {
    const out = await exportTree('unsigned');
    await writeVexDigestList(out, signer);
    assert.deepEqual(await writeVexDigestList(out, undefined), { files: 3 });
    await assert.rejects(stat(join(out, 'vex', 'SHA256SUMS.sig')));
    assert.equal(await code(join(out, 'vex'), [trusted]), SignatureErrorCode.UNSIGNED);
    assert.equal(await writeVexDigestList(join(work, 'no-vex-here'), signer), undefined);
  });
});

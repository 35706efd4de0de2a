// The `signing:` section as the Signing service: a key file or a systemd credential, read once, and
// errors that name the YAML path, the file, its mode and the fix.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isSignatureError, SignatureErrorCode } from '@trivy-mirror/oci';
import { KeySigning } from '../src/services/signing-service.js';

describe('KeySigning', () => {
  let dir: string;
  let keyFile: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'signing-service-'));
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    keyFile = join(dir, 'signing-key');
    await writeFile(keyFile, privateKey.export({ type: 'sec1', format: 'pem' }), { mode: 0o600 });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('off without a section: no key, no error', async () => {
    const s = new KeySigning(undefined, '1.0.0');
    assert.equal(s.enabled, false);
    assert.equal(await s.key(), undefined);
  });

  test('a key file is read once; the version is kept for the provenance', async () => {
    const s = new KeySigning({ keyFile }, '1.2.3');
    assert.equal(s.source, `file ${keyFile}`);
    const k = await s.key();
    assert.match(k?.keyId ?? '', /^sha256:/);
    assert.equal(await s.key(), k);
    assert.equal(s.mirrorVersion, '1.2.3');
  });

  test('a systemd credential is read from $CREDENTIALS_DIRECTORY; without it the error says what to add', async () => {
    const s = new KeySigning({ keyCredential: 'signing-key' }, '1.0.0', { CREDENTIALS_DIRECTORY: dir });
    assert.equal((await s.key())?.file, keyFile);
    const missing = new KeySigning({ keyCredential: 'signing-key' }, '1.0.0', {});
    await assert.rejects(missing.key(), (err) => {
      assert.ok(isSignatureError(err, SignatureErrorCode.SIGNING_KEY_INVALID));
      assert.match(
        err.message,
        /^signing\.keyCredential: .*\$CREDENTIALS_DIRECTORY is not set \(use LoadCredential=signing-key:/,
      );
      return true;
    });
  });

  test('a key others may read is refused under its YAML path, and taken once it is fixed', async () => {
    const open = join(dir, 'open.key');
    await copyFile(keyFile, open);
    await chmod(open, 0o644);
    const s = new KeySigning({ keyFile: open }, '1.0.0');
    await assert.rejects(s.key(), (err) => {
      assert.ok(isSignatureError(err, SignatureErrorCode.SIGNING_KEY_PERMISSIONS));
      assert.ok(err.message.startsWith(`signing.keyFile: signing key ${open} has mode 0644`), err.message);
      assert.ok(err.message.includes(`chmod 600 ${open}`));
      return true;
    });
    // config check reports it under the path itself: load() gives the message without it
    await assert.rejects(s.load(), (err: Error) => err.message.startsWith(`signing key ${open}`));
    await chmod(open, 0o600);
    assert.ok(await s.key());
  });
});

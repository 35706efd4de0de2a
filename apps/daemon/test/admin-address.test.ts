// admin.listen without loading the config: env overrides, the file's text, the defaults.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_ADMIN_LISTEN, DEFAULT_CONFIG_PATH, quickAdminListen } from '../src/admin/admin-address.js';

describe('quickAdminListen', () => {
  test('env overrides first, then the file; undefined when unsure or unreadable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tm-admin-address-'));
    try {
      const cfg = join(dir, 'c.yaml');
      await writeFile(cfg, 'admin:\n  listen: 127.0.0.1:9555\n');
      assert.equal(quickAdminListen(cfg, {}), '127.0.0.1:9555');
      assert.equal(quickAdminListen(cfg, { TRIVY_MIRROR_ADMIN_LISTEN: '127.0.0.1:1' }), '127.0.0.1:1');
      assert.equal(quickAdminListen(cfg, { TRIVY_MIRROR__ADMIN__LISTEN: '127.0.0.1:2' }), '127.0.0.1:2');
      await writeFile(cfg, 'admin: *anchor\n');
      assert.equal(quickAdminListen(cfg, {}), undefined);
      assert.equal(quickAdminListen(join(dir, 'missing.yaml'), {}, true), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('no file at the default path means the defaults, when the caller says so', {
    skip: existsSyncDefault(),
  }, () => {
    assert.equal(quickAdminListen(DEFAULT_CONFIG_PATH, {}, true), DEFAULT_ADMIN_LISTEN);
    assert.equal(quickAdminListen(DEFAULT_CONFIG_PATH, {}), undefined);
  });
});

function existsSyncDefault(): string | false {
  return existsSync(DEFAULT_CONFIG_PATH) && `${DEFAULT_CONFIG_PATH} exists on this machine`;
}

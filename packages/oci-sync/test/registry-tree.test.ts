// publishRegistryTree: the tree's shape, hard links vs verified copies, tags moved last, dropped
// versions kept until the store lets go of them, and a damaged version left out with its tag kept.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type GeneratedArtifact, generateArtifact, writeArtifactToLayout } from '@trivy-mirror/fixtures';
import { OciLayout } from '@trivy-mirror/oci';
import { publishRegistryTree } from '../src/index.js';

let work: string;
let store: string;
const versions: GeneratedArtifact[] = [];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'trivy-mirror-tree-'));
  store = join(work, 'store', 'trivy-db');
  for (const seed of ['v1', 'v2', 'v3']) {
    versions.push(
      await generateArtifact({ kind: 'trivy-db', dbBytes: 64 * 1024, seed, workDir: join(work, seed) }),
    );
  }
});
after(() => rm(work, { recursive: true, force: true }));

const publish = (outDir: string) =>
  publishRegistryTree({ outDir, layouts: [{ repository: 'trivy-db', dir: store }] });
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

test('publishes blobs as hard links, manifests by digest and tag, the ping; again is a no-op', async () => {
  const out = join(work, 'tree');
  await writeArtifactToLayout(store, '2', versions[0]);
  const first = await publish(out);
  assert.deepEqual(first.repositories[0].tags, ['2']);
  assert.deepEqual(first.repositories[0].tagsMoved, ['2']);
  const v1 = versions[0];
  const file = `../_manifests/${v1.manifestDigest}.oci-manifest`;
  assert.equal(await readlink(join(out, 'v2/trivy-db/manifests/2')), file);
  assert.equal(await readlink(join(out, `v2/trivy-db/manifests/${v1.manifestDigest}`)), file);
  assert.deepEqual(await readFile(join(out, 'v2/trivy-db/manifests/2')), v1.manifestBytes);
  const blob = join(out, 'v2/trivy-db/blobs', v1.layer.digest);
  assert.equal(
    (await stat(blob)).ino,
    (await stat(join(store, 'blobs/sha256', v1.layer.digest.slice(7)))).ino,
  );
  assert.equal(await readFile(join(out, 'v2/index.json'), 'utf8'), '{}');
  const again = await publish(out);
  assert.deepEqual(again.repositories[0].tagsMoved, []);
  assert.equal(again.repositories[0].blobsCopied, 0);
});

test('a new version moves the tag; the old one stays until the store has dropped it', async () => {
  const out = join(work, 'tree');
  const [v1, v2] = versions;
  await writeArtifactToLayout(store, '2', v2);
  const r = await publish(out);
  assert.deepEqual(r.repositories[0].tagsMoved, ['2']);
  assert.deepEqual(await readFile(join(out, 'v2/trivy-db/manifests/2')), v2.manifestBytes);
  // unreferenced now, but the store still holds it (its GC grace): readers of the old tag finish
  assert.ok(await exists(join(out, 'v2/trivy-db/blobs', v1.layer.digest)));
  assert.ok(await exists(join(out, `v2/trivy-db/manifests/${v1.manifestDigest}`)));
  await (await OciLayout.open(store)).gc({ graceMs: 0 });
  const gc = await publish(out);
  assert.equal(gc.repositories[0].removed, 2, 'the old manifest and layer (the config is shared)');
  assert.equal(await exists(join(out, 'v2/trivy-db/blobs', v1.layer.digest)), false);
  assert.equal(await exists(join(out, `v2/trivy-db/manifests/${v1.manifestDigest}`)), false);
  assert.equal(await exists(join(out, `v2/trivy-db/_manifests/${v1.manifestDigest}.oci-manifest`)), false);
  assert.ok(await exists(join(out, 'v2/trivy-db/blobs', v2.layer.digest)));
});

test('a version whose blob is missing in the store is left out and its tag stays', async () => {
  const out = join(work, 'tree');
  const [, v2, v3] = versions;
  await writeArtifactToLayout(store, '2', v3);
  await rm(join(store, 'blobs/sha256', v3.layer.digest.slice(7)));
  await assert.rejects(publish(out), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'PUBLISH_INCOMPLETE');
    assert.match(err.message, /missing or short in the store/);
    return true;
  });
  assert.deepEqual(await readFile(join(out, 'v2/trivy-db/manifests/2')), v2.manifestBytes);
  assert.equal(await exists(join(out, `v2/trivy-db/manifests/${v3.manifestDigest}`)), false);
  // the store drops v2 meanwhile: the tree keeps what its tag still points at
  await (await OciLayout.open(store)).gc({ graceMs: 0 });
  await assert.rejects(publish(out), /PUBLISH|missing/);
  assert.ok(await exists(join(out, 'v2/trivy-db/blobs', v2.layer.digest)), 'the tagged layer stays');
  assert.deepEqual(await readFile(join(out, 'v2/trivy-db/manifests/2')), v2.manifestBytes);
  await writeArtifactToLayout(store, '2', v2); // repaired
});

test('a blob found bad in the store: the tree drops its hard link to the bad bytes, and links the fetched one', async () => {
  const out = join(work, 'tree-damage');
  const v = versions[1];
  await writeArtifactToLayout(store, '2', v);
  await publish(out);
  const storeBlob = join(store, 'blobs/sha256', v.layer.digest.slice(7));
  const treeBlob = join(out, 'v2/trivy-db/blobs', v.layer.digest);
  // a byte flipped in place: the tree's link shows it too; the store quarantines the file
  const bytes = await readFile(storeBlob);
  bytes[10] = (bytes[10]! + 1) % 256;
  await writeFile(storeBlob, bytes);
  await mkdir(join(store, 'quarantine'), { recursive: true });
  await rename(storeBlob, join(store, 'quarantine', v.layer.digest.slice(7)));
  await assert.rejects(publish(out), /a damaged copy: removed until it is fetched again/);
  assert.equal(await exists(treeBlob), false, 'no wrong body for a static server to send');
  // fetched again (a new inode with the right bytes): the tree links it
  await writeArtifactToLayout(store, '2', v);
  const fixed = await publish(out);
  assert.equal(fixed.repositories[0].blobsCopied, 0);
  assert.equal((await stat(treeBlob)).ino, (await stat(storeBlob)).ino);
  assert.equal(sha(await readFile(treeBlob)), v.layer.digest);
  // and when only the store's file was replaced (the tree still links the old inode): linked anew
  const old = (await stat(treeBlob)).ino;
  await cp(storeBlob, `${storeBlob}.new`);
  await rename(`${storeBlob}.new`, storeBlob);
  await publish(out);
  assert.notEqual((await stat(treeBlob)).ino, old);
  assert.equal((await stat(treeBlob)).ino, (await stat(storeBlob)).ino);
});

test('on another filesystem (tmpfs) blobs are copied and verified', {
  skip: !(await exists('/dev/shm')),
}, async () => {
  const out = await mkdtemp('/dev/shm/trivy-mirror-tree-');
  try {
    const r = await publish(out);
    assert.ok(r.repositories[0].blobsCopied > 0, JSON.stringify(r));
    const v2 = versions[1];
    const bytes = await readFile(join(out, 'v2/trivy-db/blobs', v2.layer.digest));
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, v2.layer.digest);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

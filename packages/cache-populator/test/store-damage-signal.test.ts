// A part that fails because the store's copy is bad announces artifact.damaged (for oci-sync to
// repair it) instead of failing the same way on every run; a good store announces nothing.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { flipByte } from '@trivy-mirror/fixtures';
import { OciLayout } from '@trivy-mirror/oci';
import type { ArtifactDamagedEvent } from '@trivy-mirror/plugin-api';
import pino from 'pino';
import { CachePopulatorConfigSchema, CachePopulatorService } from '../src/index.js';
import { dbLayer, storeArtifact, tempDir } from './helpers.js';
import { TestBus } from './test-bus.js';

const silent = pino({ level: 'silent' });

describe('cache-populator: a damaged store copy is announced', () => {
  let work: string;
  let store: string;
  let bus: TestBus;
  let service: CachePopulatorService;
  let layout: OciLayout;
  let layerDigest: string;
  let n = 0;

  const populate = async () => {
    const target = { ...service.state.config.targets[0], dir: path.join(work, `cache-${n++}`) };
    const [result] = await service.populator.populateTarget(target, ['db']);
    const damaged = bus.emitted
      .filter((e) => e.name === 'artifact.damaged')
      .map((e) => e.payload as ArtifactDamagedEvent);
    return { result, damaged };
  };

  before(async () => {
    work = await tempDir('damage-signal');
    store = path.join(work, 'oci');
    const config = CachePopulatorConfigSchema.parse({ targets: [{ dir: path.join(work, 'cache') }] });
    await fs.mkdir(path.join(work, 'plugin'), { recursive: true });
    bus = new TestBus();
    service = new CachePopulatorService(
      config,
      {
        id: 'cache-populator',
        stateDir: work,
        pluginDir: path.join(work, 'plugin'),
        logger: silent,
        mode: 'daemon',
      },
      { clock: { now: () => new Date() }, events: bus, store: { layoutPath: (r) => path.join(store, r) } },
    );
  });

  beforeEach(async () => {
    await fs.rm(store, { recursive: true, force: true });
    const layer = await dbLayer({ marker: 'd1', nextUpdate: new Date(Date.now() + 3600_000) });
    ({ layerDigest } = await storeArtifact(store, 'trivy-db', '2', layer));
    layout = await OciLayout.open(path.join(store, 'trivy-db'));
    bus.emitted.length = 0;
  });

  after(() => fs.rm(work, { recursive: true, force: true }));

  test('a good store: populated, nothing announced', async () => {
    const { result, damaged } = await populate();
    assert.equal(result.status, 'populated');
    assert.deepEqual(damaged, []);
  });

  test('a layer that does not hash to its digest: failed, announced with its digest', async () => {
    const file = layout.blobPath(layerDigest);
    await flipByte(file, (await fs.stat(file)).size - 1);
    const { result, damaged } = await populate();
    assert.equal(result.status, 'failed');
    assert.match(result.reason ?? '', /digest mismatch.*oci-sync was asked to repair it/);
    assert.deepEqual(
      damaged.map((d) => [d.repository, d.digest, d.reporter]),
      [['trivy-db', layerDigest, 'cache-populator']],
    );
  });

  test('a flipped byte inside the gzip stream (caught by gunzip first) is announced too', async () => {
    await flipByte(layout.blobPath(layerDigest), 200);
    const { result, damaged } = await populate();
    assert.equal(result.status, 'failed');
    assert.equal(damaged[0]?.digest, layerDigest);
  });

  test('a layer blob that is gone: announced as missing', async () => {
    await fs.rm(layout.blobPath(layerDigest));
    const { result, damaged } = await populate();
    assert.equal(result.status, 'failed');
    assert.deepEqual(
      damaged.map((d) => [d.digest, d.reason]),
      [[layerDigest, 'missing from the store']],
    );
  });

  test('a torn index.json: failed (not "not in the store yet"), announced without a digest', async () => {
    await fs.writeFile(path.join(layout.dir, 'index.json'), '{"schemaVersion":2,"manif');
    const { result, damaged } = await populate();
    assert.equal(result.status, 'failed');
    assert.equal(damaged.length, 1);
    assert.equal(damaged[0].digest, undefined);
    assert.match(damaged[0].reason, /index\.json is not a valid image index/);
  });
});

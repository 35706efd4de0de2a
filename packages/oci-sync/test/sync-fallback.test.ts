// Source fallback (closed port, 429 with Retry-After), a source change that keeps the layer,
// refusal of invalid artifacts, and keepVersions — against real registries.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type FaultProxy,
  freePort,
  type GeneratedArtifact,
  generateArtifact,
  pushArtifact,
  type RunningRegistry,
  startFaultProxy,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { Annotation, OciLayout } from '@trivy-mirror/oci';
import { MirrorError } from '@trivy-mirror/plugin-api';
import { STORED_AT_ANNOTATION, TAG_ANNOTATION } from '../src/index.js';
import { createHarness, type Harness, smallDb, storedEvents, withManifest } from './sync-harness.js';

describe('oci-sync sources, validation and versions', () => {
  let work: string;
  let up1: RunningRegistry;
  let up2: RunningRegistry;
  let proxyA: FaultProxy;
  let proxyB: FaultProxy;
  let closed: string;
  let db: GeneratedArtifact;
  let javaDb: GeneratedArtifact;
  const harnesses: Harness[] = [];
  let n = 0;

  const harness = async (config: Record<string, unknown>) => {
    const h = await createHarness(join(work, `state-${++n}`), config);
    harnesses.push(h);
    return h;
  };
  const status = async (h: Harness, key: string) =>
    (((await h.health.check()).status?.artifacts ?? {}) as Record<string, Record<string, unknown>>)[key];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'oci-sync-fallback-'));
    [up1, up2] = await Promise.all([startRegistry(), startRegistry()]);
    db = await smallDb(join(work, 'gen'), 'one');
    javaDb = await generateArtifact({
      kind: 'trivy-java-db',
      dbBytes: 32 * 1024,
      seed: 'one',
      workDir: join(work, 'gen'),
    });
    await pushArtifact(up1.url, 'aquasec/trivy-db', '2', db);
    await pushArtifact(up1.url, 'aquasec/trivy-java-db', '1', javaDb);
    proxyA = await startFaultProxy({ upstream: up1.url });
    proxyB = await startFaultProxy({ upstream: up1.url });
    closed = `127.0.0.1:${await freePort()}`;
  });

  after(async () => {
    for (const h of harnesses) await h.close();
    await Promise.all([proxyA?.stop(), proxyB?.stop(), up1?.stop(), up2?.stop()]);
    await rm(work, { recursive: true, force: true });
  });

  test('a source on a closed port is skipped for the next one', async () => {
    const h = await harness({
      sources: [`${closed}/aquasec`, `${proxyB.host}/aquasec`],
      artifacts: [{ name: 'trivy-db', tags: ['2'] }],
    });
    const outcome = await h.run();
    assert.equal(outcome.status, 'success');
    const s = await status(h, 'trivy-db:2');
    assert.equal(s.source, `${proxyB.host}/aquasec/trivy-db:2`);
    assert.equal(s.manifestDigest, db.manifestDigest);
    assert.ok(h.logs.some((l) => l.includes('source failed, trying the next one') && l.includes(closed)));
    // another source was left: the refused one is not retried first
    assert.ok(
      !h.logs.some((l) => l.includes('registry request failed; retrying') && l.includes(closed)),
      h.logs.join('\n'),
    );
  });

  test('a 429 with Retry-After: 1 is waited out on the same source', async () => {
    proxyA.log.length = 0;
    proxyA.setFault((_req, i) =>
      i === 1
        ? {
            kind: 'status',
            status: 429,
            headers: { 'retry-after': '1' },
            body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
          }
        : undefined,
    );
    try {
      const h = await harness({
        sources: [`${proxyA.host}/aquasec`],
        artifacts: [{ name: 'trivy-db', tags: ['2'] }],
      });
      const started = Date.now();
      const outcome = await h.run();
      assert.equal(outcome.status, 'success');
      assert.ok(Date.now() - started >= 900, 'waited for Retry-After');
      assert.equal(proxyA.log[0].status, 429);
      assert.equal(proxyA.log[1].status, 200);
    } finally {
      proxyA.setFault(undefined);
    }
  });

  test('a source that keeps answering 429 is left for the next one and cooled down for later artifacts', async () => {
    proxyA.log.length = 0;
    proxyA.setFault(() => ({ kind: 'status', status: 429, headers: { 'retry-after': '2' }, body: '' }));
    try {
      const h = await harness({
        sources: [`${proxyA.host}/aquasec`, `${proxyB.host}/aquasec`],
        artifacts: [
          { name: 'trivy-db', tags: ['2'] },
          { name: 'trivy-java-db', tags: ['1'] },
        ],
        concurrency: 1,
      });
      const started = Date.now();
      const outcome = await h.run();
      assert.equal(outcome.status, 'success');
      assert.equal((await status(h, 'trivy-db:2')).source, `${proxyB.host}/aquasec/trivy-db:2`);
      assert.equal((await status(h, 'trivy-java-db:1')).source, `${proxyB.host}/aquasec/trivy-java-db:1`);
      // one request for trivy-db, then straight to the next source (no 2 s wait on this one);
      // trivy-java-db never asked the cooling source
      assert.equal(proxyA.log.length, 1, JSON.stringify(proxyA.log));
      assert.ok(Date.now() - started < 2000, 'did not wait out the Retry-After of a source it could leave');
      assert.ok(proxyA.log.every((e) => e.path.includes('trivy-db')));
      const health = await h.health.check();
      assert.ok(((health.status?.sourcesCoolingDown ?? {}) as Record<string, string>)[proxyA.host]);
    } finally {
      proxyA.setFault(undefined);
    }
  });

  test('a new source with another manifest digest but the same layer moves no blob', async () => {
    // the same layer pushed by "another registry" in the legacy shape: a different manifest digest
    const legacy = await generateArtifact({
      kind: 'trivy-db',
      dbBytes: 64 * 1024,
      seed: 'one',
      updatedAt: new Date('2026-01-02T03:04:05Z'),
      shape: 'legacy',
      workDir: join(work, 'gen-legacy'),
    });
    assert.equal(legacy.layer.digest, db.layer.digest);
    assert.notEqual(legacy.manifestDigest, db.manifestDigest);
    await pushArtifact(up2.url, 'aquasec/trivy-db', '2', legacy);
    const proxyC = await startFaultProxy({ upstream: up2.url });
    try {
      const first = await harness({
        sources: [`${proxyA.host}/aquasec`],
        artifacts: [{ name: 'trivy-db', tags: ['2'] }],
      });
      assert.equal((await first.run()).status, 'success');
      const h = await createHarness(first.stateDir, {
        sources: [`${closed}/aquasec`, `${proxyC.host}/aquasec`],
        artifacts: [{ name: 'trivy-db', tags: ['2'] }],
      });
      harnesses.push(h);
      const outcome = await h.run();
      assert.equal(outcome.status, 'skipped', outcome.summary);
      assert.equal(outcome.bytes, 0);
      assert.deepEqual(
        proxyC.log.map((e) => e.method),
        ['HEAD', 'GET'],
        'one HEAD, one manifest GET to compare layers, no blob',
      );
      // the stored manifest stays the one first stored (documented choice)
      const stored = await (await OciLayout.open(join(first.storeRoot, 'trivy-db'))).manifestGet('2');
      assert.equal(stored?.descriptor.digest, db.manifestDigest);
      // next run: the source's digest is remembered, so a HEAD is all it costs
      proxyC.log.length = 0;
      assert.equal((await h.run()).status, 'skipped');
      assert.deepEqual(
        proxyC.log.map((e) => e.method),
        ['HEAD'],
      );
      // and the legacy shape itself syncs byte-identically into a fresh store
      const fresh = await harness({
        sources: [`${proxyC.host}/aquasec`],
        artifacts: [{ name: 'trivy-db', tags: ['2'] }],
      });
      assert.equal((await fresh.run()).status, 'success');
      const legacyStored = await (await OciLayout.open(join(fresh.storeRoot, 'trivy-db'))).manifestGet('2');
      assert.equal(legacyStored?.descriptor.digest, legacy.manifestDigest);
      assert.deepEqual(legacyStored?.bytes, legacy.manifestBytes);
    } finally {
      await proxyC.stop();
    }
  });

  test('a corrupted blob from upstream is refused by digest and leaves nothing behind', async () => {
    proxyA.setFault((req) =>
      req.method === 'GET' && req.url?.includes(db.layer.digest)
        ? { kind: 'flip-byte', offset: 10 }
        : undefined,
    );
    try {
      const h = await harness({
        sources: [`${proxyA.host}/aquasec`],
        artifacts: [{ name: 'trivy-db', tags: ['2'] }],
      });
      await assert.rejects(h.run(), /DIGEST_MISMATCH|hashed to/);
      const layout = await OciLayout.open(join(h.storeRoot, 'trivy-db'));
      assert.equal(await layout.blobHas(db.layer.digest), false);
      assert.deepEqual(await layout.tags(), []);
      assert.equal(await layout.cleanTemp(), 0, 'no temp file left');
    } finally {
      proxyA.setFault(undefined);
    }
  });

  test('a destination that fails is reported, while the store and the other destination are updated', async () => {
    const dest = await startRegistry();
    try {
      const h = await harness({
        sources: [`${up1.host}/aquasec`],
        artifacts: [{ name: 'trivy-db', tags: ['2'] }],
        destinations: [`${closed}/trivy`, `${dest.host}/trivy`],
      });
      await assert.rejects(h.run(), (err: unknown) => {
        assert.ok(err instanceof MirrorError);
        assert.match(
          err.message,
          new RegExp(`trivy-db:2: push failed: ${closed.replace(/\./g, '\\.')}/trivy/trivy-db:2: `),
        );
        return true;
      });
      const stored = await (await OciLayout.open(join(h.storeRoot, 'trivy-db'))).manifestGet('2');
      assert.equal(stored?.descriptor.digest, db.manifestDigest);
      const head = await h.client.manifestHead({
        kind: 'registry',
        registry: dest.host,
        repository: 'trivy/trivy-db',
        tag: '2',
      });
      assert.equal(head?.digest, db.manifestDigest);
      const s = await status(h, 'trivy-db:2');
      const dests = s.destinations as Record<string, { lastError?: string; digest?: string }>;
      assert.ok(dests[`${closed}/trivy/trivy-db:2`].lastError);
      assert.equal(dests[`${dest.host}/trivy/trivy-db:2`].digest, db.manifestDigest);
      assert.equal(storedEvents(h).length, 1, 'the store change is announced even though a push failed');
    } finally {
      await dest.stop();
    }
  });

  test('invalid artifacts are refused with the rule that failed, and nothing is stored', async () => {
    const base = await smallDb(join(work, 'gen-bad'), 'bad');
    const bad: Record<string, GeneratedArtifact> = {
      'two-layers': withManifest(base, (m) => {
        m.layers = [m.layers[0], m.layers[0]];
      }),
      'wrong-type': withManifest(base, (m) => {
        m.layers[0].mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip';
      }),
      'title-escape': withManifest(base, (m) => {
        m.layers[0].annotations[Annotation.Title] = '../db.tar.gz';
      }),
      'no-title': withManifest(base, (m) => {
        delete m.layers[0].annotations;
      }),
    };
    for (const [tag, artifact] of Object.entries(bad))
      await pushArtifact(up1.url, 'aquasec/trivy-db', tag, artifact);
    const h = await harness({
      sources: [`${up1.host}/aquasec`],
      artifacts: [{ name: 'trivy-db', tags: Object.keys(bad) }],
    });
    await assert.rejects(h.run(), (err: unknown) => {
      assert.ok(err instanceof MirrorError);
      assert.equal(err.code, 'SYNC_FAILED');
      assert.match(err.message, /4 of 4 artifact tags failed/);
      assert.match(
        err.message,
        /trivy-db:two-layers@sha256:[0-9a-f]{64}: not a valid trivy-db artifact: exactly one layer required, found 2/,
      );
      assert.match(
        err.message,
        /layer media type must be application\/vnd\.aquasec\.trivy\.db\.layer\.v1\.tar\+gzip/,
      );
      assert.match(err.message, /must be a plain file name, found "\.\.\/db\.tar\.gz"/);
      assert.match(err.message, /layer annotation org\.opencontainers\.image\.title missing/);
      return true;
    });
    await assert.rejects(stat(join(h.storeRoot, 'trivy-db')), 'no layout created');
    const s = await status(h, 'trivy-db:two-layers');
    assert.equal((s.lastError as { code: string }).code, 'ARTIFACT_INVALID');
    assert.equal((await h.health.check()).ready, false);
  });

  test('keepVersions: after four versions only three remain, older ones untagged and annotated', async () => {
    const h = await harness({
      sources: [`${up1.host}/aquasec`],
      artifacts: [{ name: 'trivy-db', tags: ['kv'] }],
      keepVersions: 3,
      blobGraceMinutes: 0,
    });
    const versions: GeneratedArtifact[] = [];
    for (let i = 0; i < 4; i++) {
      const v = await smallDb(join(work, `gen-kv-${i}`), `kv-${i}`, new Date(Date.UTC(2026, 0, 1 + i)));
      versions.push(v);
      await pushArtifact(up1.url, 'aquasec/trivy-db', 'kv', v);
      const outcome = await h.run();
      assert.equal(outcome.status, 'success');
    }
    const layout = await OciLayout.open(join(h.storeRoot, 'trivy-db'));
    const entries = (await layout.index()).manifests;
    assert.equal(entries.length, 3);
    assert.deepEqual(
      entries.map((e) => e.digest).sort(),
      versions
        .slice(1)
        .map((v) => v.manifestDigest)
        .sort(),
    );
    const tagged = entries.filter((e) => e.annotations?.[Annotation.RefName] === 'kv');
    assert.equal(tagged.length, 1);
    assert.equal(tagged[0].digest, versions[3].manifestDigest);
    for (const e of entries) {
      assert.equal(e.annotations?.[TAG_ANNOTATION], 'kv');
      assert.ok(e.annotations?.[STORED_AT_ANNOTATION]);
    }
    // gc (grace 0) removed the dropped version's layer; the kept ones are whole
    assert.equal(await layout.blobHas(versions[0].layer.digest), false);
    for (const v of versions.slice(1)) assert.equal(await layout.blobHas(v.layer.digest), true);
  });
});

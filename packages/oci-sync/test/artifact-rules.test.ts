// Pure parts of oci-sync: Trivy's artifact rules, config defaults, version planning, client config,
// metadata.json reading and source cool-downs.
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ArtifactKind, generateArtifact } from '@trivy-mirror/fixtures';
import { Annotation, type Descriptor, type ImageManifest, OciError, OciErrorCode } from '@trivy-mirror/oci';
import { ArtifactInvalidError } from '@trivy-mirror/plugin-api';
import plugin, {
  ociSyncConfigSchema,
  planTagUpdate,
  readLayerMetadata,
  renderClientConfig,
  SourceCooldowns,
  STORED_AT_ANNOTATION,
  TAG_ANNOTATION,
  trySources,
  validateTrivyArtifact,
} from '../src/index.js';

describe('validateTrivyArtifact', () => {
  let work: string;
  const manifests = new Map<string, ImageManifest>();

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'oci-sync-rules-'));
    for (const kind of ['trivy-db', 'trivy-java-db', 'trivy-checks'] as ArtifactKind[]) {
      for (const shape of ['oci-1.1', 'legacy'] as const) {
        const a = await generateArtifact({ kind, shape, dbBytes: 4096, checksMajor: 2, workDir: work });
        manifests.set(`${kind}/${shape}`, JSON.parse(a.manifestBytes.toString('utf8')));
      }
    }
  });
  after(() => rm(work, { recursive: true, force: true }));

  test('accepts both upstream shapes of all three artifacts', () => {
    for (const [key, m] of manifests) {
      const name = key.split('/')[0];
      const layer = validateTrivyArtifact(name, m);
      assert.equal(layer.title, m.layers[0].annotations?.[Annotation.Title], key);
    }
    // store names with a prefix use the last component's rule
    assert.ok(validateTrivyArtifact('aquasec/trivy-db', manifests.get('trivy-db/oci-1.1') as ImageManifest));
  });

  test('refuses with ArtifactInvalidError naming the reference and the rule', () => {
    const db = () => structuredClone(manifests.get('trivy-db/oci-1.1') as ImageManifest);
    const cases: [string, ImageManifest, RegExp][] = [
      [
        'java-db layer in trivy-db',
        manifests.get('trivy-java-db/legacy') as ImageManifest,
        /layer media type must be application\/vnd\.aquasec\.trivy\.db/,
      ],
      ['no layers', { ...db(), layers: [] }, /exactly one layer required, found 0/],
      [
        'title with slash',
        (() => {
          const m = db();
          m.layers[0].annotations = { [Annotation.Title]: 'a/db.tar.gz' };
          return m;
        })(),
        /plain file name/,
      ],
      [
        'title ..',
        (() => {
          const m = db();
          m.layers[0].annotations = { [Annotation.Title]: '..' };
          return m;
        })(),
        /plain file name/,
      ],
      [
        'index',
        { ...db(), mediaType: 'application/vnd.oci.image.index.v1+json' },
        /is not an image manifest/,
      ],
      ['schema 1', { ...db(), schemaVersion: 1 as 2 }, /schemaVersion must be 2/],
    ];
    for (const [what, m, re] of cases) {
      assert.throws(
        () => validateTrivyArtifact('trivy-db', m, 'reg.example/aquasec/trivy-db:2'),
        (err: unknown) => {
          assert.ok(err instanceof ArtifactInvalidError, what);
          assert.equal(err.code, 'ARTIFACT_INVALID');
          assert.match(
            err.message,
            /^reg\.example\/aquasec\/trivy-db:2: not a valid trivy-db artifact: /,
            what,
          );
          assert.match(err.message, re, what);
          return true;
        },
      );
    }
    // Trivy takes a checks bundle without a version annotation (trivy-checks:1) as a custom build.
    const checks = structuredClone(manifests.get('trivy-checks/oci-1.1') as ImageManifest);
    delete checks.annotations?.[Annotation.Version];
    assert.equal(validateTrivyArtifact('trivy-checks', checks).title, 'bundle.tar.gz');
    assert.throws(() => validateTrivyArtifact('something-else', db()), /unknown artifact name/);
  });
});

describe('config', () => {
  test('defaults are exactly the documented ones', () => {
    const c = ociSyncConfigSchema.parse({});
    assert.deepEqual(c, {
      schedule: '17 */6 * * *',
      sources: ['mirror.gcr.io/aquasec', 'ghcr.io/aquasecurity'],
      artifacts: [
        { name: 'trivy-db', tags: ['2'] },
        { name: 'trivy-java-db', tags: ['1'] },
        { name: 'trivy-checks', tags: ['1', '2'] },
      ],
      destinations: [],
      keepVersions: 3,
      pushDuringDownload: true,
      serve: { enabled: true, prefix: ['aquasec', 'aquasecurity'] },
      blobGraceMinutes: 30,
      concurrency: 2,
      staleAfterHours: 72,
    });
    assert.equal(plugin.id, 'oci-sync');
  });

  test('is strict and checks shapes', () => {
    assert.equal(ociSyncConfigSchema.safeParse({ sourcez: [] }).success, false);
    assert.equal(ociSyncConfigSchema.safeParse({ sources: ['https://ghcr.io/aquasecurity'] }).success, false);
    assert.equal(
      ociSyncConfigSchema.safeParse({ destinations: ['registry.internal:5000/trivy'] }).success,
      true,
    );
    assert.equal(
      ociSyncConfigSchema.safeParse({ artifacts: [{ name: 'trivy-db', tags: ['2'], extra: 1 }] }).success,
      false,
    );
    assert.equal(
      ociSyncConfigSchema.safeParse({
        artifacts: [{ name: 'trivy-db', tags: ['2'], sources: ['ghcr.io/aquasecurity'] }],
      }).success,
      true,
    );
    assert.equal(ociSyncConfigSchema.safeParse({ keepVersions: 0 }).success, false);
    // no upstream: an air-gapped inside daemon that only serves what `import` brought
    assert.deepEqual(ociSyncConfigSchema.parse({ sources: [] }).sources, []);
    const unknown = ociSyncConfigSchema.safeParse({ artifacts: [{ name: 'trivy-dbx', tags: ['2'] }] });
    assert.equal(unknown.success, false);
    assert.deepEqual(unknown.error?.issues[0].path, ['artifacts', 0, 'name']);
    assert.equal(
      ociSyncConfigSchema.safeParse({ artifacts: [{ name: 'aquasec/trivy-db', tags: ['2'] }] }).success,
      true,
    );
  });
});

describe('planTagUpdate', () => {
  const d = (n: number): Descriptor => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
    size: 100 + n,
  });

  test('moves the tag, keeps history newest first up to keepVersions, leaves other tags alone', () => {
    let index: Descriptor[] = [{ ...d(9), annotations: { [Annotation.RefName]: 'other' } }];
    const dropped: Descriptor[] = [];
    for (let i = 1; i <= 4; i++) {
      const plan = planTagUpdate(index, d(i), '2', `2026-01-0${i}T00:00:00Z`, 3);
      index = plan.manifests;
      dropped.push(...plan.dropped);
    }
    assert.equal(index.length, 4);
    assert.equal(index[0].digest, d(9).digest);
    const mine = index.slice(1);
    assert.deepEqual(
      mine.map((e) => e.digest),
      [d(4).digest, d(3).digest, d(2).digest],
    );
    assert.equal(mine[0].annotations?.[Annotation.RefName], '2');
    assert.equal(mine[1].annotations?.[Annotation.RefName], undefined);
    assert.equal(mine[1].annotations?.[TAG_ANNOTATION], '2');
    assert.equal(mine[2].annotations?.[STORED_AT_ANNOTATION], '2026-01-02T00:00:00Z');
    assert.deepEqual(
      dropped.map((e) => e.digest),
      [d(1).digest],
    );
    // storing the current digest again changes nothing but its stored-at
    const again = planTagUpdate(index, d(4), '2', '2026-01-05T00:00:00Z', 3);
    assert.equal(again.manifests.length, 4);
    assert.equal(again.dropped.length, 0);
  });
});

describe('client config', () => {
  test('names Trivy flags, env vars and trivy.yaml keys for HOST/REPO:TAG', () => {
    const config = ociSyncConfigSchema.parse({});
    const s = renderClientConfig(config, { publicUrl: 'https://bastion.example:8443' });
    assert.deepEqual(s.flags, [
      '--db-repository bastion.example:8443/trivy-db:2',
      '--java-db-repository bastion.example:8443/trivy-java-db:1',
      '--checks-bundle-repository bastion.example:8443/trivy-checks:2',
    ]);
    assert.equal(s.env?.TRIVY_DB_REPOSITORY, 'bastion.example:8443/trivy-db:2');
    assert.equal(s.env?.TRIVY_JAVA_DB_REPOSITORY, 'bastion.example:8443/trivy-java-db:1');
    assert.equal(s.env?.TRIVY_CHECKS_BUNDLE_REPOSITORY, 'bastion.example:8443/trivy-checks:2');
    assert.match(
      s.trivyYaml ?? '',
      /^db:\n {2}repository: bastion\.example:8443\/trivy-db:2\n {2}java-repository: /m,
    );
    assert.match(
      s.trivyYaml ?? '',
      /^misconfiguration:\n {2}checks-bundle-repository: bastion\.example:8443\/trivy-checks:2$/m,
    );
    assert.ok(
      s.notes?.some((n) =>
        n.includes('--skip-db-update --skip-java-db-update --skip-check-update --offline-scan'),
      ),
    );

    // Plain names are served whatever the prefixes; one prefix (a string) only lets registry.mirrors
    // work for the default host whose path it is.
    const plain = renderClientConfig(ociSyncConfigSchema.parse({ serve: { prefix: 'aquasec' } }), {
      publicUrl: 'http://10.0.0.1:8080',
    });
    assert.ok(plain.flags?.includes('--db-repository 10.0.0.1:8080/trivy-db:2'));
    assert.ok(plain.flags?.includes('--insecure'));
    assert.match(plain.trivyYaml ?? '', /^insecure: true$/m);
    const [fallback, mirrors] = plain.alternatives ?? [];
    assert.ok(
      fallback?.flags?.includes(
        '--db-repository 10.0.0.1:8080/trivy-db:2,mirror.gcr.io/aquasec/trivy-db:2,ghcr.io/aquasecurity/trivy-db:2',
      ),
      JSON.stringify(fallback),
    );
    assert.match(fallback?.title ?? '', /v0\.56/);
    assert.equal(
      mirrors?.trivyYaml,
      'registry:\n  mirrors:\n    mirror.gcr.io:\n      - 10.0.0.1:8080\ninsecure: true\n',
    );
    assert.match(mirrors?.title ?? '', /v0\.59/);
    assert.ok(
      mirrors?.notes?.some((n) => n.includes('add aquasecurity to oci-sync serve.prefix for ghcr.io')),
    );
    // The default serves both paths; an inside mirror (no sources) has no upstream to fall back to.
    const both = renderClientConfig(ociSyncConfigSchema.parse({ sources: [] }), {
      publicUrl: 'https://b.example',
    });
    assert.deepEqual(
      both.alternatives?.map((a) => a.title),
      ['registry.mirrors in trivy.yaml (Trivy v0.59 or later)'],
    );
    assert.match(both.alternatives?.[0]?.trivyYaml ?? '', /ghcr\.io:\n {6}- b\.example\n$/);
  });
});

describe('readLayerMetadata', () => {
  test('reads UpdatedAt/NextUpdate from a db layer', async () => {
    const work = await mkdtemp(join(tmpdir(), 'oci-sync-meta-'));
    try {
      const a = await generateArtifact({
        kind: 'trivy-java-db',
        dbBytes: 256 * 1024,
        updatedAt: new Date('2026-03-04T05:06:07Z'),
        nextUpdate: new Date('2026-03-05T05:06:07Z'),
        workDir: work,
      });
      const meta = await readLayerMetadata(createReadStream(a.layer.path));
      assert.equal(meta?.updatedAt, '2026-03-04T05:06:07Z');
      assert.equal(meta?.nextUpdate, '2026-03-05T05:06:07Z');
      assert.equal(meta?.version, 1);
      const checks = await generateArtifact({ kind: 'trivy-checks', checksMajor: 2, workDir: work });
      assert.equal(await readLayerMetadata(createReadStream(checks.layer.path)), undefined);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

describe('source fallback', () => {
  test('falls back only on fallback errors and cools a rate-limited host down', async () => {
    let now = 1_000_000;
    const cool = new SourceCooldowns(() => now);
    const sources = [
      { source: 'a.example/x/trivy-db:2', host: 'a.example' },
      { source: 'b.example/x/trivy-db:2', host: 'b.example' },
    ];
    const tried: string[] = [];
    const r = await trySources('trivy-db:2', sources, cool, async (s) => {
      tried.push(s.host);
      if (s.host === 'a.example')
        throw new OciError(OciErrorCode.TOO_MANY_REQUESTS, 'slow down', { retryAfterMs: 5000 });
      return 'ok';
    });
    assert.equal(r.value, 'ok');
    assert.equal(r.source.host, 'b.example');
    assert.equal(cool.coolingUntil('a.example'), 1_005_000);
    // while cooling, a.example is not asked at all
    tried.length = 0;
    await trySources('trivy-java-db:1', sources, cool, async (s) => {
      tried.push(s.host);
      return 1;
    });
    assert.deepEqual(tried, ['b.example']);
    now += 5001;
    assert.equal(cool.coolingUntil('a.example'), undefined);
    // a 401 is not a reason to try another mirror
    await assert.rejects(
      trySources('x', sources, cool, async () => {
        throw new OciError(OciErrorCode.UNAUTHORIZED, 'no');
      }),
      /no/,
    );
    await assert.rejects(
      trySources('trivy-db:2', sources, cool, async (s) => {
        throw new OciError(OciErrorCode.SERVER_ERROR, `${s.host} 503`);
      }),
      /trivy-db:2: no source succeeded: a\.example\/x\/trivy-db:2: a\.example 503; b\.example\/x\/trivy-db:2: b\.example 503/,
    );
  });
});

// The container's shared services against a real registry (Debian's docker-registry with htpasswd):
// RegistryTransport takes credentials from CredentialProvider contributions; the ArtifactStore's
// LayoutTransport writes layouts under stateDir/oci; events reach other jobs.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ArtifactStore,
  CredentialProvider,
  definePlugin,
  EventBus,
  Job,
  RegistryTransport,
} from '@trivy-mirror/plugin-api';
import { artifactCopy, isOciError, parseReference } from '@trivy-mirror/oci';
import { generateArtifact, pushArtifact, type RunningRegistry, startRegistry } from '@trivy-mirror/fixtures';
import { ContainerModule } from 'inversify';
import { z } from 'zod';
import { createRuntime, type Runtime } from '../src/index.js';
import { asLoaded, captureLogger, tempDir, testConfig } from './helpers.js';

const USER = { username: 'bot', password: 'correct horse' };

function syncPlugin(registryHost: string, withCredentials: boolean) {
  return definePlugin({
    id: 'mini-sync',
    description: 'copies one artifact into the store and emits artifact.stored',
    configSchema: z.object({}),
    module: () =>
      new ContainerModule(({ bind }) => {
        if (withCredentials) {
          bind<CredentialProvider>(CredentialProvider).toConstantValue({
            id: 'test-creds',
            order: 10,
            forRegistry: async (host) => (host === registryHost ? { ...USER, source: 'test' } : undefined),
          });
        }
        bind<Job>(Job).toResolvedValue(
          (registry: RegistryTransport, store: ArtifactStore, events: EventBus) => ({
            id: 'mini-sync',
            description: 'copy trivy-db:2',
            runOnStart: false,
            async run({ signal }) {
              const result = await artifactCopy({
                src: registry,
                srcRef: parseReference(`${registryHost}/aquasec/trivy-db:2`),
                dst: store.transport,
                dstRef: { kind: 'layout', path: store.layoutPath('trivy-db'), tag: '2' },
                signal,
              });
              const layer = result.manifest.layers[0];
              events.emit('artifact.stored', {
                repository: 'trivy-db',
                tag: '2',
                digest: result.digest,
                layer: { digest: layer.digest, mediaType: layer.mediaType, size: layer.size },
                layoutPath: store.layoutPath('trivy-db'),
                changed: true,
              });
              return { status: 'success', summary: result.digest, bytes: result.bytes };
            },
          }),
          [RegistryTransport, ArtifactStore, EventBus],
        );
        bind<Job>(Job).toConstantValue({
          id: 'after-store',
          description: 'runs on artifact.stored',
          runOnStart: false,
          triggers: ['artifact.stored'],
          run: async () => ({ status: 'success', summary: 'populated' }),
        });
      }),
  });
}

describe('container services with a real registry', () => {
  let registry: RunningRegistry;
  let dir: string;
  let cleanup: () => Promise<void>;
  let manifestDigest: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir('rt-container-'));
    registry = await startRegistry({ htpasswd: [USER] });
    const artifact = await generateArtifact({
      kind: 'trivy-db',
      dbBytes: 64 * 1024,
      workDir: join(dir, 'work'),
    });
    manifestDigest = artifact.manifestDigest;
    await pushArtifact(registry.url, 'aquasec/trivy-db', '2', artifact, USER);
  });
  after(async () => {
    await registry?.stop();
    await cleanup();
  });

  async function runtimeWith(withCredentials: boolean, stateDir: string): Promise<Runtime> {
    const plugins = [syncPlugin(registry.host, withCredentials)] as never[];
    const config = testConfig(stateDir, {}, plugins);
    const runtime = createRuntime({
      config,
      plugins: asLoaded(config, plugins),
      logger: captureLogger().logger,
    });
    await runtime.start({ admin: false });
    return runtime;
  }

  test('credentials from a CredentialProvider reach the registry; the store holds the layout; events trigger jobs', async () => {
    const runtime = await runtimeWith(true, join(dir, 'state-ok'));
    try {
      const rec = await runtime.jobs.trigger('mini-sync', 'test');
      assert.equal(rec.status, 'success', JSON.stringify(rec.error));
      assert.equal(rec.summary, manifestDigest);
      assert.deepEqual(await runtime.services!.store.repositories(), ['trivy-db']);
      const stored = await runtime.services!.store.transport.manifestHead({
        kind: 'layout',
        path: runtime.services!.store.layoutPath('trivy-db'),
        tag: '2',
      });
      assert.equal(stored?.digest, manifestDigest);
      const after = await (async () => {
        for (let i = 0; i < 100; i++) {
          const r = runtime.jobs.lastRun('after-store');
          if (r) return r;
          await new Promise((res) => setTimeout(res, 20));
        }
        return undefined;
      })();
      assert.equal(after?.reason, 'event:artifact.stored');
    } finally {
      await runtime.stop();
    }
  });

  test('without a provider the registry answers UNAUTHORIZED and the run fails with that code', async () => {
    const runtime = await runtimeWith(false, join(dir, 'state-anon'));
    try {
      const rec = await runtime.jobs.trigger('mini-sync', 'test');
      assert.equal(rec.status, 'failure');
      assert.equal(rec.error?.code, 'UNAUTHORIZED', JSON.stringify(rec.error));
      await assert.rejects(
        runtime.services!.registry.tagList(parseReference(`${registry.host}/aquasec/trivy-db`)),
        (err: unknown) => isOciError(err, 'UNAUTHORIZED'),
      );
    } finally {
      await runtime.stop();
    }
  });
});

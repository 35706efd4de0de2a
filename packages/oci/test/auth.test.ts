// Basic auth against docker-registry with htpasswd: anonymous is refused with a clear error,
// credentials from a CredentialResolver work, and wrong ones name their source (never the secret).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningRegistry, startRegistry } from '@trivy-mirror/fixtures';
import {
  artifactCopy,
  isOciError,
  LayoutTransport,
  OciErrorCode,
  parseReference,
  RegistryClient,
  sha256Digest,
} from '@trivy-mirror/oci';
import { buildArtifact, run, type TestArtifact, writeToLayout } from './test-artifacts.js';

describe('registry auth (htpasswd)', () => {
  let registry: RunningRegistry;
  let dir: string;
  let a: TestArtifact;
  const clients: RegistryClient[] = [];
  const client = (c?: ConstructorParameters<typeof RegistryClient>[0]) => {
    const x = new RegistryClient(c);
    clients.push(x);
    return x;
  };

  before(async () => {
    registry = await startRegistry({ htpasswd: [{ username: 'mirror', password: 's3cret-pass' }] });
    dir = await mkdtemp(join(tmpdir(), 'oci-auth-test-'));
    a = await buildArtifact({ dir, shape: 'legacy', layerBytes: 1024 * 1024, seed: 'auth' });
    await writeToLayout(join(dir, 'seed'), '2', a);
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('anonymous access fails with UNAUTHORIZED naming the host', async () => {
    const err = await client()
      .manifestHead(parseReference(`${registry.host}/trivy/trivy-db:2`))
      .catch((e: unknown) => e);
    assert.ok(isOciError(err, OciErrorCode.UNAUTHORIZED), String(err));
    assert.equal(err.target, registry.host);
    assert.match(err.message, new RegExp(registry.host.replace(/\./g, '\\.')));
    assert.match(err.message, /no credentials were sent/);
  });

  test('credentials from a resolver are used (asked once per host)', async () => {
    let asked = 0;
    const c = client({
      credentials: async (host) => {
        asked++;
        return host === registry.host
          ? { username: 'mirror', password: 's3cret-pass', source: 'test-file' }
          : undefined;
      },
    });
    const ref = parseReference(`${registry.host}/trivy/trivy-db:2`);
    const res = await artifactCopy({
      src: new LayoutTransport(),
      srcRef: parseReference(`oci-layout:${join(dir, 'seed')}:2`),
      dst: c,
      dstRef: ref,
    });
    assert.equal(res.digest, a.manifestDigest);
    assert.equal((await c.manifestGet(ref)).descriptor.digest, a.manifestDigest);
    assert.deepEqual(await c.tagList(ref), ['2']);
    await c.ping(registry.host);
    assert.equal(asked, 1);
    // skopeo with the same credentials sees the same bytes
    const { stdout } = await run(
      'skopeo',
      [
        'inspect',
        '--raw',
        '--tls-verify=false',
        '--creds',
        'mirror:s3cret-pass',
        `docker://${registry.host}/trivy/trivy-db:2`,
      ],
      { encoding: 'buffer' },
    );
    assert.equal(sha256Digest(stdout as unknown as Buffer), a.manifestDigest);
  });

  test('wrong credentials: UNAUTHORIZED says they were sent and from where, never the secret', async () => {
    const c = client({
      credentials: async () => ({ username: 'mirror', password: 'wrong-pass', source: 'config file X' }),
    });
    const err = await c
      .manifestHead(parseReference(`${registry.host}/trivy/trivy-db:2`))
      .catch((e: unknown) => e);
    assert.ok(isOciError(err, OciErrorCode.UNAUTHORIZED), String(err));
    assert.match(err.message, /credentials from config file X were sent/);
    assert.doesNotMatch(err.message, /wrong-pass/);
    assert.equal(err.status, 401);
  });
});

// The world of the auth e2e files (test/auth-*.test.ts): a docker-registry that requires htpasswd
// auth (the push user), seeded as the daemon's upstream; a VEX server; a local layout to `copy` from;
// the secrets of the run and the check that none of them leaks into a text.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type GeneratedArtifact,
  generateArtifact,
  type RunningRegistry,
  type SeedUpstreamResult,
  seedUpstream,
  startRegistry,
  writeArtifactToLayout,
} from '@trivy-mirror/fixtures';
import { runCli } from './daemon-process.js';
import { startVexServer, type VexServer } from './vex-server.js';

export const PUSH_USER = 'mirror-bot';
export const PUSH_SECRET = `push-S3cret-${process.pid}-${Date.now().toString(36)}`;
export const WRONG_SECRET = `wrong-S3cret-${process.pid}`;
export const CLIENT_USER = 'scanner';
export const CLIENT_SECRET = `client-S3cret-${process.pid}-${Date.now().toString(36)}`;
const SECRETS = [
  PUSH_SECRET,
  WRONG_SECRET,
  CLIENT_SECRET,
  Buffer.from(`${PUSH_USER}:${PUSH_SECRET}`).toString('base64'),
  Buffer.from(`${CLIENT_USER}:${CLIENT_SECRET}`).toString('base64'),
];

export function assertNoSecret(text: string, where: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} contains a secret`);
}

export const basic = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

export interface AuthSuite {
  dir: string;
  /** Requires PUSH_USER / PUSH_SECRET; holds the seeded upstream under aquasec/. */
  registry: RunningRegistry;
  vex: VexServer;
  /** An OCI layout holding `artifact` as trivy-db:2, for `copy`. */
  layout: string;
  artifact: GeneratedArtifact;
  seeded: SeedUpstreamResult;
  /** A bare config for `copy --config`: only auth-providers matters. */
  copyConfig(name: string, credential: string): Promise<string>;
  /**
   * `copy` from the local layout into REPO on the protected registry, with a clean docker config;
   * its output must hold no secret.
   */
  copy(
    repo: string,
    args?: string[],
    env?: Record<string, string>,
  ): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** The manifest digest of REPO:2 on the protected registry (read with the right credentials). */
  pushedDigest(repo: string): Promise<string | null>;
  stop(): Promise<void>;
}

export async function startAuthSuite(): Promise<AuthSuite> {
  const dir = await mkdtemp(join(tmpdir(), 'tm-e2e-auth-'));
  await Promise.all(['home', 'empty-docker', 'bin'].map((d) => mkdir(join(dir, d), { recursive: true })));
  const [registry, vex] = await Promise.all([
    startRegistry({ htpasswd: [{ username: PUSH_USER, password: PUSH_SECRET }] }),
    startVexServer(),
  ]);
  const artifact = await generateArtifact({
    kind: 'trivy-db',
    dbBytes: 64 * 1024,
    seed: 'e2e-auth',
    workDir: join(dir, 'gen'),
  });
  const layout = join(dir, 'layout');
  await writeArtifactToLayout(layout, '2', artifact);
  // The daemon's upstream is the same protected registry.
  const seeded = await seedUpstream({
    registryUrl: registry.url,
    workDir: join(dir, 'seed'),
    dbBytes: 64 * 1024,
    javaDbBytes: 64 * 1024,
    seed: 'e2e-auth-upstream',
    push: { username: PUSH_USER, password: PUSH_SECRET },
  });
  return {
    dir,
    registry,
    vex,
    layout,
    artifact,
    seeded,
    async copyConfig(name, credential) {
      const file = join(dir, `${name}.yaml`);
      await writeFile(
        file,
        `stateDir: ${dir}/unused-state
plugins:
  auth-providers:
    dockerConfig: false
    credentials:
      - { host: "${registry.host}", username: ${PUSH_USER}, ${credential} }
`,
      );
      return file;
    },
    async copy(repo, args = [], env = {}) {
      const r = await runCli(['copy', `oci-layout:${layout}:2`, `${registry.host}/${repo}:2`, ...args], {
        env: { HOME: join(dir, 'home'), DOCKER_CONFIG: join(dir, 'empty-docker'), ...env },
        timeoutMs: 30_000,
      });
      // checked as it comes: the no-secret test runs beside the daemon, in another file
      assertNoSecret(r.stdout, `copy ${repo} stdout`);
      assertNoSecret(r.stderr, `copy ${repo} stderr`);
      return r;
    },
    async pushedDigest(repo) {
      const res = await fetch(`${registry.url}/v2/${repo}/manifests/2`, {
        method: 'HEAD',
        headers: {
          authorization: basic(PUSH_USER, PUSH_SECRET),
          accept: 'application/vnd.oci.image.manifest.v1+json',
        },
      });
      return res.status === 200 ? res.headers.get('docker-content-digest') : `HTTP ${res.status}`;
    },
    async stop() {
      await Promise.allSettled([registry.stop(), vex.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

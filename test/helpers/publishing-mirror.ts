// The built daemon with oci-sync publishRegistryDir against a seeded local upstream, and nginx
// serving the tree with the shipped conf; plus clients that pull through nginx while new versions
// are seeded, synced and published (for the e2e suite and its full reliability variant).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type RunningRegistry, type SeedUpstreamResult, startRegistry } from '@trivy-mirror/fixtures';
import { runJob } from './admin-api.js';
import { type DaemonProcess, eventually, freePort, startDaemon } from './daemon-process.js';
import { ARTIFACT_TAGS, seedVersion, writeMirrorConfig } from './mirror-config.js';
import { manifestHeadDigest, tempDir } from './oci-e2e.js';
import { startTreeNginx, type TreeNginx, trivyLikePull } from './registry-tree.js';

export interface PublishingMirror {
  work: Awaited<ReturnType<typeof tempDir>>;
  upstream: RunningRegistry;
  daemon: DaemonProcess;
  nginx: TreeNginx;
  seeded: SeedUpstreamResult;
  tree: string;
  config: string;
  stateDir: string;
  seed(name: string): Promise<SeedUpstreamResult>;
  stop(): Promise<void>;
}

export async function startPublishingMirror(name: string, dbBytes?: number): Promise<PublishingMirror> {
  const work = await tempDir(name);
  const upstream = await startRegistry();
  const seed = (s: string) => seedVersion(upstream.url, work.dir, s, dbBytes);
  const seeded = await seed('v0');
  const tree = join(work.dir, 'registry');
  const stateDir = join(work.dir, 'state');
  const adminPort = await freePort();
  const config = await writeMirrorConfig(join(work.dir, 'config.yaml'), {
    stateDir,
    sources: [`${upstream.host}/aquasec`],
    adminPort,
    publishRegistryDir: tree,
  });
  const daemon = await startDaemon({
    args: ['run', '--config', config],
    adminUrl: `http://127.0.0.1:${adminPort}`,
  });
  await daemon.waitForLog((l) => l.msg === 'job finished' && l.job === 'oci-sync', 90_000);
  const nginx = await startTreeNginx(tree);
  const m: PublishingMirror = {
    work,
    upstream,
    daemon,
    nginx,
    seeded,
    tree,
    config,
    stateDir,
    seed,
    async stop() {
      await daemon.stop();
      await nginx.stop();
      await upstream.stop();
      await work.remove();
    },
  };
  await servesVersion(m, seeded, ARTIFACT_TAGS, 'the seeded versions');
  return m;
}

/** Waits until nginx answers `version`'s digest for each of `tags`. */
async function servesVersion(m: PublishingMirror, version: SeedUpstreamResult, tags: string[], what: string) {
  await eventually(
    async () => {
      for (const at of tags) {
        const [name, tag] = at.split(':');
        assert.equal(
          await manifestHeadDigest(`${m.nginx.treeUrl}/v2/${name}/manifests/${tag}`),
          version.digests[at],
        );
      }
      return true;
    },
    60_000,
    `the tree serves ${what}`,
  );
}

export interface PullReport {
  pulls: number;
  errors: string[];
  seen: number;
  line: string;
}

/**
 * `clients` loops of Trivy-like pulls (trivy-db:2, trivy-java-db:1: manifest by tag, digest checked,
 * then the layer, hashed) while `rounds` new versions are seeded, synced and published.
 */
export async function pullWhilePublishing(
  m: PublishingMirror,
  options: { clients: number; rounds: number },
): Promise<PullReport> {
  let stop = false;
  const errors: string[] = [];
  const seen = new Set<string>();
  let pulls = 0;
  const client = async () => {
    while (!stop) {
      for (const [name, tag] of [
        ['trivy-db', '2'],
        ['trivy-java-db', '1'],
      ]) {
        try {
          seen.add((await trivyLikePull(m.nginx.treeUrl, name, tag)).digest);
          pulls++;
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    }
  };
  const started = Date.now();
  const clients = Array.from({ length: options.clients }, client);
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const next = await m.seed(`v${round}`);
      const run = await runJob(m.daemon, 'oci-sync', 120_000);
      assert.equal(run.status, 'success', run.summary);
      await servesVersion(m, next, ['trivy-db:2', 'trivy-java-db:1'], `v${round}`);
      await new Promise((r) => setTimeout(r, 500)); // clients pull the new version for a while
    }
  } finally {
    stop = true;
    await Promise.all(clients);
  }
  const line = `publish-load: clients=${options.clients} versions=${options.rounds} pulls=${pulls} digests-seen=${seen.size} failures=${errors.length} seconds=${Math.round((Date.now() - started) / 1000)}`;
  return { pulls, errors, seen: seen.size, line };
}

// A daemon config for the oci-sync e2e suites (sync, publish tree, HA pairs): JSON logs, loopback admin.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type SeedUpstreamResult, seedUpstream } from '@trivy-mirror/fixtures';

/** 'NAME:TAG' of every artifact seedUpstream pushes. */
export const ARTIFACT_TAGS = ['trivy-db:2', 'trivy-java-db:1', 'trivy-checks:1', 'trivy-checks:2'];

/** A new upstream version of all four artifacts (small databases), named by `seed`. */
export function seedVersion(
  registryUrl: string,
  workDir: string,
  seed: string,
  dbBytes = 1024 * 1024,
): Promise<SeedUpstreamResult> {
  return seedUpstream({
    registryUrl,
    workDir: join(workDir, `seed-${seed}`),
    dbBytes,
    javaDbBytes: dbBytes,
    seed,
  });
}

export interface MirrorConfigOptions {
  stateDir: string;
  sources: string[];
  destinations?: string[];
  adminPort: number;
  publishRegistryDir?: string;
  /** No cron runs during a test: jobs run at start and on POST /jobs/oci-sync/run. */
  schedule?: string;
  blobGraceMinutes?: number;
  artifacts?: { name: string; tags: string[] }[];
  /** The embedded read-only registry on this port (publicUrl the same address). */
  servePort?: number;
  /** A vexhub-mirror repository named vexhub at this URL. */
  vexUrl?: string;
  /** Sign what the mirror stores with this key (top-level `signing: { keyFile }`). */
  signingKeyFile?: string;
}

export async function writeMirrorConfig(path: string, o: MirrorConfigOptions): Promise<string> {
  await mkdir(o.stateDir, { recursive: true });
  const lines = [
    `stateDir: ${o.stateDir}`,
    `admin: { listen: 127.0.0.1:${o.adminPort} }`,
    'log: { level: info, format: json }',
  ];
  if (o.signingKeyFile) lines.push(`signing: { keyFile: ${o.signingKeyFile} }`);
  if (o.servePort) {
    lines.push(`serve: { listen: 127.0.0.1:${o.servePort}, publicUrl: http://127.0.0.1:${o.servePort} }`);
  }
  lines.push(
    'plugins:',
    '  auth-providers: { dockerConfig: false }',
    '  oci-sync:',
    `    schedule: "${o.schedule ?? '0 0 1 1 *'}"`,
    `    sources: [${o.sources.join(', ')}]`,
    `    destinations: [${(o.destinations ?? []).join(', ')}]`,
  );
  if (o.artifacts) lines.push(`    artifacts: ${JSON.stringify(o.artifacts)}`);
  if (o.publishRegistryDir) lines.push(`    publishRegistryDir: ${o.publishRegistryDir}`);
  if (o.blobGraceMinutes !== undefined) lines.push(`    blobGraceMinutes: ${o.blobGraceMinutes}`);
  if (o.vexUrl) lines.push('  vexhub-mirror:', `    repositories: [{ name: vexhub, url: ${o.vexUrl} }]`);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}
